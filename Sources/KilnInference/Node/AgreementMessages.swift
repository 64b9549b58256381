// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
public import KilnCore
public import KilnCrypto

/// `POST /v1/agreements` body: the canonical output a round chose for `jobId`, sent to an operator that committed
/// to its own output, asking it to sign an ``InferenceAgreement`` if its output is within the policy's tolerance.
public struct AgreementRequest: Hashable, Sendable {
    public var jobId: Bytes32
    public var canonicalOutputHash: Bytes32
    public var canonicalOutput: [UInt8]

    public init(jobId: Bytes32, canonicalOutputHash: Bytes32, canonicalOutput: [UInt8]) {
        self.jobId = jobId
        self.canonicalOutputHash = canonicalOutputHash
        self.canonicalOutput = canonicalOutput
    }

    public var json: JSONValue {
        [
            "jobId": .string(jobId.hex), "canonicalOutputHash": .string(canonicalOutputHash.hex),
            "canonicalOutput": .string(Data(canonicalOutput).base64EncodedString()),
        ]
    }

    /// Reads a request; every problem names its field.
    public init(json: JSONValue) throws(InferenceError) {
        guard case .object(let o) = json else { throw InferenceError(.badInput, "the request must be a JSON object") }
        guard case .string(let id)? = o["jobId"], let jobId = try? Bytes32(hex: id) else {
            throw InferenceError(.badInput, "'jobId' must be 0x followed by 64 hex digits")
        }
        guard case .string(let hash)? = o["canonicalOutputHash"], let canonical = try? Bytes32(hex: hash) else {
            throw InferenceError(.badInput, "'canonicalOutputHash' must be 0x followed by 64 hex digits")
        }
        guard case .string(let encoded)? = o["canonicalOutput"], let output = Data(base64Encoded: encoded) else {
            throw InferenceError(.badInput, "'canonicalOutput' must be base64")
        }
        if let unknown = o.keys.first(where: { !["jobId", "canonicalOutputHash", "canonicalOutput"].contains($0) }) {
            throw InferenceError(.badInput, "unknown field '\(unknown)'")
        }
        self.init(jobId: jobId, canonicalOutputHash: canonical, canonicalOutput: Array(output))
    }
}

/// The node's agreement: the signed ``InferenceAgreement``, its own committed output hash and the distance it
/// measured (the distance is informative: every verifier recomputes it).
public struct AgreementResponse: Hashable, Sendable {
    public var agreement: InferenceAgreement
    public var ownOutputHash: Bytes32
    public var distance: PixelDistance?
    public var signature: Signature
    public var operator_: Address

    public init(
        agreement: InferenceAgreement,
        ownOutputHash: Bytes32,
        distance: PixelDistance?,
        signature: Signature,
        operator_: Address
    ) {
        self.agreement = agreement
        self.ownOutputHash = ownOutputHash
        self.distance = distance
        self.signature = signature
        self.operator_ = operator_
    }

    public var json: JSONValue {
        [
            "jobId": .string(agreement.jobId.hex), "modelId": .string(agreement.modelId.hex),
            "inputHash": .string(agreement.inputHash.hex),
            "canonicalOutputHash": .string(agreement.canonicalOutputHash.hex),
            "policyHash": .string(agreement.policyHash.hex), "referenceBlock": .number(agreement.referenceBlock),
            "ownOutputHash": .string(ownOutputHash.hex), "distance": distance?.json ?? .null,
            "signature": .string(signature.hex), "operator": .string(operator_.checksummed),
        ]
    }

    /// Reads a response, bounded: anything malformed is a ``InferenceError/Code/badResponse`` naming the field.
    public init(json: JSONValue) throws(InferenceError) {
        func fail(_ message: String, cause: (any Error)? = nil) -> InferenceError {
            InferenceError(.badResponse, message, cause: cause)
        }
        guard case .object(let o) = json else { throw fail("the agreement is not a JSON object") }
        func word(_ key: String) throws(InferenceError) -> Bytes32 {
            guard case .string(let text)? = o[key], let value = try? Bytes32(hex: text) else {
                throw fail("'\(key)' is not a 32-byte hex value")
            }
            return value
        }
        guard let block = o["referenceBlock"]?.integerValue, let referenceBlock = UInt64(exactly: block) else {
            throw fail("'referenceBlock' is not a block number")
        }
        guard case .string(let signatureText)? = o["signature"] else { throw fail("'signature' is missing") }
        let signature: Signature
        do { signature = try Signature(hex: signatureText) } catch {
            throw fail("'signature': \(error.message)", cause: error)
        }
        guard case .string(let operatorText)? = o["operator"], let address = try? Address(hex: operatorText) else {
            throw fail("'operator' is not an address")
        }
        self.init(
            agreement: InferenceAgreement(
                jobId: try word("jobId"),
                modelId: try word("modelId"),
                inputHash: try word("inputHash"),
                canonicalOutputHash: try word("canonicalOutputHash"),
                policyHash: try word("policyHash"),
                referenceBlock: referenceBlock
            ),
            ownOutputHash: try word("ownOutputHash"),
            distance: o["distance"].flatMap(PixelDistance.init(json:)),
            signature: signature,
            operator_: address
        )
    }
}
