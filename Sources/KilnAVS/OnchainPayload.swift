// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
public import KilnCore
public import KilnCrypto

/// The ERC-1271 `isValidSignature(bytes32 digest, bytes data)` call an on-chain registry checks a quorum with,
/// built from an attestation bundle: `digest` is the EIP-712 digest of the attestation of the output, `data` is
/// `abi.encode(address[] operators (ascending), bytes[] signatures, uint32 referenceBlock)`.
///
/// For a bundle with an agreement phase, `digest` is the ``InferenceAgreement`` digest of the canonical output
/// and the signatures are the agreement signatures: every agreeing operator signed that one digest, so the same
/// registry checks the quorum unchanged. Operators named in the bundle's evidence (equivocation, false
/// agreement) are left out; the registry cannot see tolerance, Kiln's verifier does.
public struct OnchainPayload: Sendable {
    /// The registry (the bundle's EIP-712 verifying contract).
    public var registry: Address
    /// The attested output's keccak-256.
    public var outputHash: Bytes32
    /// Whether Kiln accepted this output (otherwise it is the output with the most signed stake).
    public var accepted: Bool
    /// The block the registry reads stakes and keys at.
    public var referenceBlock: UInt64
    /// The signing operators, ascending (as the registry requires).
    public var operators: [Address]
    /// The EIP-712 digest every signature is over.
    public var digest: Bytes32
    /// The signatures, in the order of ``operators``.
    public var signatures: [Signature]
    /// The job, its model's id and, for an agreement round, the policy's hash.
    public var jobId: Bytes32
    public var modelId: Bytes32
    public var policyHash: Bytes32?
    /// The job's canonical input (RFC 8785 bytes; its keccak-256 is the attested `inputHash`): an ERC-7007 prompt.
    public var prompt: [UInt8]

    /// The ERC-7007 `proof` a Kiln ERC-7007 token verifies (`scripts/contracts/KilnNFT.vy`): `abi.encode(uint8 kind
    /// (0 attestation, 1 agreement), bytes32 jobId, bytes32 modelId, bytes32 policyHash, uint32 referenceBlock,
    /// address[] operators, bytes[] signatures)`; its `aigcData` is ``outputHash`` and its `prompt` ``prompt``.
    public var erc7007Proof: [UInt8] {
        ABIEncoding.encode([
            .uint(UInt64(policyHash == nil ? 0 : 1)), .bytes32(jobId), .bytes32(modelId), .bytes32(policyHash ?? .zero),
            .uint(referenceBlock), .array(operators.map { .address($0) }), .array(signatures.map { .bytes($0.bytes) }),
        ])
    }

    /// `abi.encode(address[] operators, bytes[] signatures, uint32 referenceBlock)` (the reference block was checked
    /// to fit a `uint32` when the payload was made).
    public var data: [UInt8] {
        ABIEncoding.encode([
            .array(operators.map { .address($0) }), .array(signatures.map { .bytes($0.bytes) }), .uint(referenceBlock),
        ])
    }

    /// The full call data for `eth_call` to ``registry``.
    public var calldata: [UInt8] {
        ABIEncoding.call("isValidSignature(bytes32,bytes)", [.bytes32(digest), .bytes(data)])
    }

    /// ERC-1271's magic value: what `isValidSignature` returns for a valid signature.
    public static let magicValue: [UInt8] = [0x16, 0x26, 0xBA, 0x7E]

    /// Whether `answer`, the return data of an `isValidSignature` call, says the registry accepts the payload.
    public static func accepts(_ answer: [UInt8]) -> Bool {
        answer.count >= 4 && Array(answer.prefix(4)) == magicValue
    }

    /// Builds the payload for the bundle's accepted output or, when there is none, for the output that the most
    /// stake signed; with `only`, from those operators' signatures alone. Signatures that do not recover to the
    /// operator's signing key and equivocators are left out.
    public init(bundle: JSONValue, only: Set<Address>? = nil) throws(AVSError) {
        let parsed = try AttestationBundle.Parsed(bundle)
        guard case .array(let responses)? = bundle["responses"] else { throw AVSError("the bundle has no 'responses'") }
        guard UInt32(exactly: parsed.referenceBlock) != nil else {
            throw AVSError("reference block \(parsed.referenceBlock) does not fit uint32")
        }
        var equivocators: Set<Address> = []
        if case .array(let evidence)? = bundle["evidence"] {
            for item in evidence {
                if let op = item["operator"]?.stringValue.flatMap({ try? Address(hex: $0) }) { equivocators.insert(op) }
            }
        }
        if bundle["agreement"] != nil {
            self = try Self.agreement(bundle, parsed: parsed, responses: responses, excluded: equivocators, only: only)
            return
        }
        // Valid signatures per output: by a listed operator's signing key, not an equivocator's.
        var byOutput: [Bytes32: [(Address, Signature)]] = [:]
        for response in responses {
            guard let op = response["operator"]?.stringValue.flatMap({ try? Address(hex: $0) }), parsed.lists(op),
                !equivocators.contains(op),
                only?.contains(op) ?? true,
                let output = response["outputHash"]?.stringValue.flatMap({ try? Bytes32(hex: $0) }),
                let signature = response["signature"]?.stringValue.flatMap({ try? Signature(hex: $0) }),
                parsed.signer(of: output, signature) == parsed.key(of: op)
            else { continue }
            byOutput[output, default: []].append((op, signature))
        }
        let acceptedHash = bundle["accepted"]?["outputHash"]?.stringValue.flatMap { try? Bytes32(hex: $0) }
        let chosen: Bytes32
        if let acceptedHash {
            chosen = acceptedHash
        } else {
            let ranked = byOutput.map { output, signed in
                (output, signed.reduce(BigUInt(0)) { $0 + parsed.stake(of: $1.0) })
            }
            guard let best = ranked.max(by: { ($0.1, $1.0) < ($1.1, $0.0) }) else {
                throw AVSError("the bundle has no valid signature to build a payload from")
            }
            chosen = best.0
        }
        let signed = (byOutput[chosen] ?? []).sorted { $0.0 < $1.0 }
        guard !signed.isEmpty else {
            throw AVSError(
                "no valid signature for output \(chosen.hex)\(only == nil ? "" : " among the operators asked for")"
            )
        }
        self.init(
            registry: parsed.domain.verifyingContract ?? .zero,
            outputHash: chosen,
            accepted: acceptedHash != nil,
            referenceBlock: parsed.referenceBlock,
            signed: signed,
            digest: parsed.digest(chosen),
            job: (parsed.jobId, Keccak256.hash(utf8: parsed.model), nil, try Self.prompt(bundle))
        )
    }

    private init(
        registry: Address,
        outputHash: Bytes32,
        accepted: Bool,
        referenceBlock: UInt64,
        signed: [(Address, Signature)],
        digest: Bytes32,
        job: (id: Bytes32, model: Bytes32, policy: Bytes32?, prompt: [UInt8])
    ) {
        self.registry = registry
        self.outputHash = outputHash
        self.accepted = accepted
        self.referenceBlock = referenceBlock
        self.operators = signed.map(\.0)
        self.signatures = signed.map(\.1)
        self.digest = digest
        self.jobId = job.id
        self.modelId = job.model
        self.policyHash = job.policy
        self.prompt = job.prompt
    }

    /// The request's input in canonical bytes.
    private static func prompt(_ bundle: JSONValue) throws(AVSError) -> [UInt8] {
        guard let input = bundle["request"]?["input"] else { throw AVSError("the bundle's request has no 'input'") }
        do { return try input.canonicalBytes() } catch {
            throw AVSError("the bundle's request input is not canonical JSON: \(error.message)", cause: error)
        }
    }

    private static func agreement(
        _ bundle: JSONValue,
        parsed: AttestationBundle.Parsed,
        responses: [JSONValue],
        excluded: Set<Address>,
        only: Set<Address>?
    ) throws(AVSError) -> OnchainPayload {
        let section = bundle["agreement"]
        guard let canonical = section?["canonical"]?["outputHash"]?.stringValue.flatMap({ try? Bytes32(hex: $0) }),
            let policyHash = section?["policyHash"]?.stringValue.flatMap({ try? Bytes32(hex: $0) })
        else { throw AVSError("the bundle's agreement has no canonical output hash or policy hash") }
        let digest = InferenceAgreement(
            jobId: parsed.jobId,
            modelId: Keccak256.hash(utf8: parsed.model),
            inputHash: parsed.inputHash,
            canonicalOutputHash: canonical,
            policyHash: policyHash,
            referenceBlock: parsed.referenceBlock
        )
        .signingDigest(domain: parsed.domain)
        var signed: [(Address, Signature)] = []
        for response in responses {
            guard let op = response["operator"]?.stringValue.flatMap({ try? Address(hex: $0) }), parsed.lists(op),
                !excluded.contains(op), only?.contains(op) ?? true,
                let signature = response["agreementSignature"]?.stringValue.flatMap({ try? Signature(hex: $0) }),
                (try? signature.recoverAddress(digest: digest)) == parsed.key(of: op)
            else { continue }
            signed.append((op, signature))
        }
        signed.sort { $0.0 < $1.0 }
        guard !signed.isEmpty else {
            throw AVSError(
                "no valid agreement signature for output \(canonical.hex)\(only == nil ? "" : " among the operators asked for")"
            )
        }
        return OnchainPayload(
            registry: parsed.domain.verifyingContract ?? .zero,
            outputHash: canonical,
            accepted: bundle["accepted"]?["outputHash"]?.stringValue == canonical.hex,
            referenceBlock: parsed.referenceBlock,
            signed: signed,
            digest: digest,
            job: (parsed.jobId, Keccak256.hash(utf8: parsed.model), policyHash, try prompt(bundle))
        )
    }

    /// The payload as JSON: registry, output hash, digest, data and the full call data, in hex.
    public var json: JSONValue {
        [
            "registry": .string(registry.checksummed), "outputHash": .string(outputHash.hex),
            "accepted": .bool(accepted),
            "referenceBlock": .number(Int(referenceBlock)),
            "operators": .array(operators.map { .string($0.checksummed) }),
            "digest": .string(digest.hex), "data": .string(Hex.encode(data)), "calldata": .string(Hex.encode(calldata)),
            "erc7007": [
                "prompt": .string(Hex.encode(prompt)), "aigcData": .string(outputHash.hex),
                "proof": .string(Hex.encode(erc7007Proof)),
            ],
        ]
    }
}
