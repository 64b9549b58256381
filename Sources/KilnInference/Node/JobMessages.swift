// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
internal import Foundation
public import KilnCore
public import KilnCrypto

/// `POST /v1/jobs` body: run `model` on `input` for job `jobId`, attesting at `referenceBlock`.
public struct JobRequest: Hashable, Sendable {
    public var jobId: Bytes32
    /// The model name, e.g. `kiln/cppn-v1`; the attestation signs its Keccak-256.
    public var model: String
    public var input: JSONValue
    public var referenceBlock: UInt64

    public init(jobId: Bytes32, model: String, input: JSONValue, referenceBlock: UInt64) {
        self.jobId = jobId
        self.model = model
        self.input = input
        self.referenceBlock = referenceBlock
    }

    public var inputHash: Bytes32 { (try? input.canonicalHash()) ?? .zero }
    public var modelId: Bytes32 { Keccak256.hash(utf8: model) }

    public var json: JSONValue {
        [
            "jobId": .string(jobId.hex), "modelId": .string(model), "input": input,
            "referenceBlock": .number(referenceBlock),
        ]
    }

    /// Reads a request; every problem names its field.
    public init(json: JSONValue) throws(InferenceError) {
        guard case .object(let o) = json else { throw InferenceError(.badInput, "the request must be a JSON object") }
        guard case .string(let id)? = o["jobId"], let jobId = try? Bytes32(hex: id) else {
            throw InferenceError(.badInput, "'jobId' must be 0x followed by 64 hex digits")
        }
        guard case .string(let model)? = o["modelId"], !model.isEmpty else {
            throw InferenceError(.badInput, "'modelId' must be a model name such as \"kiln/cppn-v1\"")
        }
        guard let input = o["input"], case .object = input else {
            throw InferenceError(.badInput, "'input' must be a JSON object")
        }
        guard let block = o["referenceBlock"]?.integerValue, block >= 0, let referenceBlock = UInt64(exactly: block)
        else {
            throw InferenceError(.badInput, "'referenceBlock' must be a whole number ≥ 0")
        }
        if let unknown = o.keys.first(where: { !["jobId", "modelId", "input", "referenceBlock"].contains($0) }) {
            throw InferenceError(.badInput, "unknown field '\(unknown)'")
        }
        self.init(jobId: jobId, model: model, input: input, referenceBlock: referenceBlock)
    }
}

/// The node's answer: the output, its hash and the operator's EIP-712 signature over the attestation.
public struct JobResponse: Hashable, Sendable {
    public var attestation: InferenceAttestation
    public var model: String
    public var output: [UInt8]
    public var signature: Signature
    /// The address the node claims to sign for (checked by recovering the signature).
    public var operator_: Address

    public init(
        attestation: InferenceAttestation,
        model: String,
        output: [UInt8],
        signature: Signature,
        operator_: Address
    ) {
        self.attestation = attestation
        self.model = model
        self.output = output
        self.signature = signature
        self.operator_ = operator_
    }

    public var json: JSONValue {
        [
            "jobId": .string(attestation.jobId.hex), "modelId": .string(model),
            "inputHash": .string(attestation.inputHash.hex),
            "outputHash": .string(attestation.outputHash.hex), "referenceBlock": .number(attestation.referenceBlock),
            "output": .string(Data(output).base64EncodedString()), "signature": .string(signature.hex),
            "operator": .string(operator_.checksummed),
        ]
    }

    /// Reads a response, bounded: anything malformed is a ``InferenceError/Code/badResponse`` naming the field.
    public init(json: JSONValue) throws(InferenceError) {
        func fail(_ message: String, cause: (any Error)? = nil) -> InferenceError {
            InferenceError(.badResponse, message, cause: cause)
        }
        guard case .object(let o) = json else { throw fail("the response is not a JSON object") }
        func word(_ key: String) throws(InferenceError) -> Bytes32 {
            guard case .string(let text)? = o[key], let value = try? Bytes32(hex: text) else {
                throw fail("'\(key)' is not a 32-byte hex value")
            }
            return value
        }
        let jobId = try word("jobId"), inputHash = try word("inputHash"), outputHash = try word("outputHash")
        guard case .string(let model)? = o["modelId"] else { throw fail("'modelId' is missing") }
        guard let block = o["referenceBlock"]?.integerValue, let referenceBlock = UInt64(exactly: block) else {
            throw fail("'referenceBlock' is not a block number")
        }
        guard case .string(let encoded)? = o["output"], let output = Data(base64Encoded: encoded) else {
            throw fail("'output' is not base64")
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
            attestation: InferenceAttestation(
                jobId: jobId,
                modelId: Keccak256.hash(utf8: model),
                inputHash: inputHash,
                outputHash: outputHash,
                referenceBlock: referenceBlock
            ),
            model: model,
            output: Array(output),
            signature: signature,
            operator_: address
        )
    }
}
