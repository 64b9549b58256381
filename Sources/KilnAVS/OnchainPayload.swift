// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
public import KilnCore
internal import KilnCrypto

/// The ERC-1271 `isValidSignature(bytes32 digest, bytes data)` call an on-chain registry checks a quorum with,
/// built from an attestation bundle: `digest` is the EIP-712 digest of the attestation of the output, `data` is
/// `abi.encode(address[] operators (ascending), bytes[] signatures, uint32 referenceBlock)`.
public struct OnchainPayload: Sendable {
    /// The registry (the bundle's EIP-712 verifying contract).
    public var registry: Address
    public var outputHash: Bytes32
    /// Whether Kiln accepted this output (otherwise it is the output with the most signed stake).
    public var accepted: Bool
    public var referenceBlock: UInt64
    public var operators: [Address]
    public var digest: Bytes32
    public var data: [UInt8]

    /// The full call data for `eth_call` to ``registry``.
    public var calldata: [UInt8] { ABIEncoding.call("isValidSignature(bytes32,bytes)", [.bytes32(digest), .bytes(data)]) }

    public static let magicValue: [UInt8] = [0x16, 0x26, 0xBA, 0x7E]

    /// Builds the payload for the bundle's accepted output or, when there is none, for the output that the most
    /// stake signed; with `only`, from those operators' signatures alone. Signatures that do not recover to the
    /// operator's signing key and equivocators are left out.
    public init(bundle: JSONValue, only: Set<Address>? = nil) throws(AVSError) {
        guard bundle["format"]?.stringValue == AttestationBundle.format else { throw AVSError("not a Kiln attestation bundle") }
        guard let chain = bundle["domain"]?["chainId"]?.integerValue.flatMap({ UInt64(exactly: $0) }),
            let contract = bundle["domain"]?["verifyingContract"]?.stringValue.flatMap({ try? Address(hex: $0) }),
            let request = bundle["request"], let jobId = request["jobId"]?.stringValue.flatMap({ try? Bytes32(hex: $0) }),
            let model = request["model"]?.stringValue, let inputHash = request["inputHash"]?.stringValue.flatMap({ try? Bytes32(hex: $0) }),
            let block = request["referenceBlock"]?.integerValue.flatMap({ UInt64(exactly: $0) }),
            case .array(let stakeList)? = bundle["stake"]?["operators"], case .array(let responses)? = bundle["responses"]
        else { throw AVSError("the bundle lacks its domain, request, stake table or responses") }
        guard let block32 = UInt32(exactly: block) else { throw AVSError("reference block \(block) does not fit uint32") }
        let domain = EIP712Domain.kiln(chainId: chain, verifyingContract: contract)
        var keys: [Address: Address] = [:]
        var stakes: [Address: BigUInt] = [:]
        for entry in stakeList {
            guard let address = entry["address"]?.stringValue.flatMap({ try? Address(hex: $0) }) else { throw AVSError("a stake entry has no address") }
            keys[address] = entry["signingKey"]?.stringValue.flatMap { try? Address(hex: $0) } ?? address
            stakes[address] = entry["stake"]?.stringValue.flatMap { BigUInt($0, radix: 10) } ?? 0
        }
        var equivocators: Set<Address> = []
        if case .array(let evidence)? = bundle["evidence"] {
            for item in evidence { if let op = item["operator"]?.stringValue.flatMap({ try? Address(hex: $0) }) { equivocators.insert(op) } }
        }
        func attestation(_ output: Bytes32) -> InferenceAttestation {
            InferenceAttestation(jobId: jobId, modelId: Keccak256.hash(utf8: model), inputHash: inputHash, outputHash: output, referenceBlock: block)
        }
        // Valid signatures per output.
        var byOutput: [Bytes32: [(Address, Signature)]] = [:]
        for response in responses {
            guard let op = response["operator"]?.stringValue.flatMap({ try? Address(hex: $0) }), !equivocators.contains(op),
                let output = response["outputHash"]?.stringValue.flatMap({ try? Bytes32(hex: $0) }),
                let signature = response["signature"]?.stringValue.flatMap({ try? Signature(hex: $0) }),
                only?.contains(op) ?? true,
                (try? signature.recoverAddress(digest: attestation(output).signingDigest(domain: domain))) == keys[op]
            else { continue }
            byOutput[output, default: []].append((op, signature))
        }
        let acceptedHash = bundle["accepted"]?["outputHash"]?.stringValue.flatMap { try? Bytes32(hex: $0) }
        let chosen: Bytes32
        if let acceptedHash {
            chosen = acceptedHash
        } else {
            let ranked = byOutput.map { output, signed in (output, signed.reduce(BigUInt(0)) { $0 + (stakes[$1.0] ?? 0) }) }
            guard let best = ranked.max(by: { ($0.1, $1.0) < ($1.1, $0.0) }) else { throw AVSError("the bundle has no valid signature to build a payload from") }
            chosen = best.0
        }
        let signed = (byOutput[chosen] ?? []).sorted { $0.0 < $1.0 }
        guard !signed.isEmpty else { throw AVSError("no valid signature for output \(chosen.hex)\(only == nil ? "" : " among the operators asked for")") }
        registry = contract
        outputHash = chosen
        accepted = acceptedHash != nil
        referenceBlock = block
        operators = signed.map(\.0)
        digest = attestation(chosen).signingDigest(domain: domain)
        data = ABIEncoding.encode([
            .array(signed.map { .address($0.0) }), .array(signed.map { .bytes($0.1.bytes) }), .uint(UInt64(block32)),
        ])
    }

    public var json: JSONValue {
        [
            "registry": .string(registry.checksummed), "outputHash": .string(outputHash.hex), "accepted": .bool(accepted),
            "referenceBlock": .number(Int(referenceBlock)), "operators": .array(operators.map { .string($0.checksummed) }),
            "digest": .string(digest.hex), "data": .string(Hex.encode(data)), "calldata": .string(Hex.encode(calldata)),
        ]
    }
}
