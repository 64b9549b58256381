// Kiln — Apache-2.0. See LICENSE.

public import BigInt
public import KilnContent
public import KilnCore
internal import KilnStore
public import KilnTemplates

/// The `kiln` block every published metadata.json carries, so anyone can re-derive the picture: the template
/// (its CID and content hash), the folded state and its hash, the accepted inference output and the
/// attestation bundle (CIDs), the import profile and the Kiln version.
public struct Provenance: Hashable, Sendable {
    /// The token's chain.
    public var chainId: UInt64
    /// The token's contract.
    public var contract: Address
    /// The token id.
    public var tokenId: BigUInt
    /// The template folder's CID, as rendered.
    public var template: CID
    /// The template's content hash.
    public var templateHash: Bytes32
    /// The folded traits (derived traits are recomputed from them).
    public var state: JSONValue
    /// keccak-256 of the canonical JSON of ``state``.
    public var stateHash: Bytes32
    /// The accepted inference output's CID, when the template asks for inference.
    public var inference: CID?
    /// The attestation bundle's CID.
    public var attestation: CID?
    /// The template's agreement policy when it is not `exact` (an exact template's metadata is unchanged).
    public var agreement: AgreementPolicy?
    /// The import profile the CIDs were made with.
    public var profile: String
    /// The Kiln version that rendered it.
    public var version: String

    /// A provenance block from its parts.
    public init(
        chainId: UInt64,
        contract: Address,
        tokenId: BigUInt,
        template: CID,
        templateHash: Bytes32,
        state: JSONValue,
        stateHash: Bytes32,
        inference: CID?,
        attestation: CID?,
        agreement: AgreementPolicy? = nil,
        profile: String,
        version: String = KilnVersion.current
    ) {
        self.chainId = chainId
        self.contract = contract
        self.tokenId = tokenId
        self.template = template
        self.templateHash = templateHash
        self.state = state
        self.stateHash = stateHash
        self.inference = inference
        self.attestation = attestation
        self.agreement = agreement
        self.profile = profile
        self.version = version
    }

    /// The block as metadata.json carries it (CIDs as `ipfs://` URIs).
    public var json: JSONValue {
        var block: JSONValue = [
            "chainId": .number(chainId), "contract": .string(contract.checksummed), "tokenId": .string(String(tokenId)),
            "template": .string("ipfs://\(template)"), "templateHash": .string(templateHash.hex),
            "state": state, "stateHash": .string(stateHash.hex),
            "inference": inference.map { .string("ipfs://\($0)") } ?? .null,
            "attestation": attestation.map { .string("ipfs://\($0)") } ?? .null,
            "profile": .string(profile), "version": .string(version),
        ]
        if let agreement, case .object(var fields) = block {
            fields["agreement"] = agreement.json
            block = .object(fields)
        }
        return block
    }

    /// Reads the `kiln` block of a metadata document.
    public init(metadata: JSONValue) throws(PipelineError) {
        guard case .object? = metadata["kiln"], let block = metadata["kiln"] else {
            throw PipelineError("the metadata has no 'kiln' block: it was not published by Kiln")
        }
        func text(_ key: String) throws(PipelineError) -> String {
            guard let value = block[key]?.stringValue else { throw PipelineError("kiln.\(key) is missing or not text") }
            return value
        }
        func cid(_ key: String) throws(PipelineError) -> CID? {
            guard let value = block[key], value != .null else { return nil }
            guard let uri = value.stringValue, uri.hasPrefix("ipfs://"), let cid = try? CID(String(uri.dropFirst(7)))
            else {
                throw PipelineError("kiln.\(key) must be ipfs://<cid>")
            }
            return cid
        }
        func word(_ key: String) throws(PipelineError) -> Bytes32 {
            guard let word = try? Bytes32(hex: try text(key)) else {
                throw PipelineError("kiln.\(key) must be 32 bytes of hex")
            }
            return word
        }
        guard let chain = block["chainId"]?.integerValue, let chainId = UInt64(exactly: chain) else {
            throw PipelineError("kiln.chainId must be a chain id")
        }
        guard let contract = try? Address(hex: try text("contract")) else {
            throw PipelineError("kiln.contract must be an address")
        }
        guard let tokenId = BigUInt(try text("tokenId"), radix: 10) else {
            throw PipelineError("kiln.tokenId must be a decimal number")
        }
        guard let template = try cid("template") else { throw PipelineError("kiln.template is missing") }
        guard let state = block["state"], case .object = state else {
            throw PipelineError("kiln.state must be an object")
        }
        self.init(
            chainId: chainId,
            contract: contract,
            tokenId: tokenId,
            template: template,
            templateHash: try word("templateHash"),
            state: state,
            stateHash: try word("stateHash"),
            inference: try cid("inference"),
            attestation: try cid("attestation"),
            agreement: try block["agreement"].map { value throws(PipelineError) in
                do throws(FormatError) { return try AgreementPolicy(json: value) } catch {
                    throw PipelineError("kiln.agreement: \(error.message)", cause: error)
                }
            },
            profile: try text("profile"),
            version: try text("version")
        )
    }
}

extension TokenKey {
    /// The token's name in a batch's directories: `<chainId>-<contract, lower case>-<tokenId>`.
    public var directoryName: String { "\(chainId)-\(contract.lowercased)-\(tokenId)" }
}

/// The id of an inference job: keccak-256 of the canonical JSON `{contract, tokenId, model, inputHash}`. The
/// same token, model and input always make the same job id, so retries and re-runs ask the same question.
public func inferenceJobId(contract: Address, tokenId: BigUInt, model: String, inputHash: Bytes32) -> Bytes32 {
    // The object holds only text and an integer: canonical encoding cannot fail.
    (try? JSONValue.object([
        "contract": .string(contract.lowercased), "tokenId": .integer(BigInt(tokenId)), "model": .string(model),
        "inputHash": .string(inputHash.hex),
    ]).canonicalHash()) ?? .zero
}

extension Template {
    /// The folded traits as a JSON object and its hash (the `stateHash`).
    public func stateJSON(_ traits: [String: Value]) throws(PipelineError) -> (json: JSONValue, hash: Bytes32) {
        let names = Set(self.traits.map(\.name))
        let json = JSONValue.object(traits.filter { names.contains($0.key) }.mapValues(\.json))
        guard let hash = try? json.canonicalHash() else {
            throw PipelineError("the state of a token has a value JSON can't hold")
        }
        return (json, hash)
    }
}

/// The committed outputs an attestation bundle names by CID (`responses[].outputCID`, a round under a tolerance
/// policy), read from the blocks and keyed by keccak-256: what ``AttestationBundle/verify(_:output:outputs:)``
/// recomputes the agreement from. Empty for an exact round's bundle.
func committedOutputs(of bundle: JSONValue, reader: UnixFSReader) throws -> [Bytes32: [UInt8]] {
    guard bundle["agreement"] != nil, case .array(let responses)? = bundle["responses"] else { return [:] }
    var outputs: [Bytes32: [UInt8]] = [:]
    for response in responses {
        guard let text = response["outputCID"]?.stringValue else { continue }
        let cid: CID
        do { cid = try CID(text) } catch { throw PipelineError("the bundle's outputCID '\(text)' is not a CID") }
        let bytes = try reader.cat(cid)
        outputs[Keccak256.hash(bytes)] = bytes
    }
    return outputs
}
