// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
public import KilnCore
internal import KilnCrypto
internal import KilnInference

/// The evidence of a round, as a canonical JSON document (`OUT.attestation.json`): the request, the stake
/// table, every operator's outcome with its signed attestation, the accepted output hash and any equivocation.
/// ``verify(_:output:)`` checks it offline, with nothing but this file (and optionally the output).
public enum AttestationBundle {
    public static let format = "kiln/attestation-bundle/1"

    public static func json(_ report: QuorumReport) -> JSONValue {
        let domain = report.table.domain
        func signed(_ answer: SignedAnswer) -> JSONValue {
            [
                "outputHash": .string(answer.attestation.outputHash.hex), "signature": .string(answer.signature.hex),
            ]
        }
        var responses: [JSONValue] = []
        for (op, outcome, answer) in report.outcomes {
            var entry: [String: JSONValue] = ["operator": .string(op.address.checksummed), "outcome": .string(outcome.label)]
            if let answer {  // equivocators' signatures are kept too: the verifier excludes them by the evidence
                entry["outputHash"] = .string(answer.attestation.outputHash.hex)
                entry["signature"] = .string(answer.signature.hex)
            }
            if let reason = outcome.reason { entry["reason"] = .string(reason) }
            responses.append(.object(entry))
        }
        var document: [String: JSONValue] = [
            "format": .string(format),
            "domain": [
                "name": "Kiln", "version": "1", "chainId": .integer(BigInt(domain.chainId ?? 0)),
                "verifyingContract": .string(domain.verifyingContract?.checksummed ?? Address.zero.checksummed),
            ],
            "request": [
                "jobId": .string(report.request.jobId.hex), "model": .string(report.request.model),
                "modelId": .string(report.request.modelId.hex), "input": report.request.input,
                "inputHash": .string(report.request.inputHash.hex), "referenceBlock": .number(report.request.referenceBlock),
            ],
            "stake": stakeJSON(report.table),
            "responses": .array(responses),
            "evidence": .array(report.evidence.map { e in
                ["operator": .string(e.operator.checksummed), "first": signed(e.first), "second": signed(e.second)]
            }),
        ]
        if let accepted = report.accepted {
            document["accepted"] = [
                "outputHash": .string(accepted.outputHash.hex), "signers": .array(accepted.signers.map { .string($0.checksummed) }),
                "signedStake": .string(String(accepted.signedStake)),
            ]
        } else {
            document["accepted"] = .null
        }
        return .object(document)
    }

    /// The stake table as the bundle records it. An on-chain registry's table adds its threshold weight and each
    /// operator's signing key (a file registry's bundles are unchanged by that).
    public static func stakeJSON(_ table: StakeTable) -> JSONValue {
        var stake: [String: JSONValue] = [
            "thresholdBps": .number(table.thresholdBps), "total": .string(String(table.totalStake)),
            "operators": .array(table.operators.map { op in
                var entry: [String: JSONValue] = ["address": .string(op.address.checksummed), "stake": .string(String(op.stake))]
                if op.signingKey != op.address { entry["signingKey"] = .string(op.signingKey.checksummed) }
                return .object(entry)
            }),
        ]
        if let threshold = table.thresholdWeight { stake["thresholdWeight"] = .string(String(threshold)) }
        return .object(stake)
    }

    /// What an offline check found.
    public struct Verification: Sendable {
        public var lines: [String]
        public var ok: Bool
    }

    /// Re-derives every digest, recovers every signature, sums the stake of distinct valid signers of the
    /// accepted output (equivocators excluded) and compares it with the threshold; checks each piece of
    /// equivocation evidence; with `output`, checks that the file is the accepted output.
    public static func verify(_ bundle: JSONValue, output: [UInt8]? = nil) throws(AVSError) -> Verification {
        func field(_ value: JSONValue?, _ name: String) throws(AVSError) -> JSONValue {
            guard let value, value != .null else { throw AVSError("the bundle has no '\(name)'") }
            return value
        }
        func string(_ value: JSONValue?, _ name: String) throws(AVSError) -> String {
            guard let text = try field(value, name).stringValue else { throw AVSError("'\(name)' must be text") }
            return text
        }
        func word(_ value: JSONValue?, _ name: String) throws(AVSError) -> Bytes32 {
            guard let word = try? Bytes32(hex: try string(value, name)) else { throw AVSError("'\(name)' must be 32 bytes of hex") }
            return word
        }
        guard bundle["format"]?.stringValue == format else { throw AVSError("not a Kiln attestation bundle (format '\(format)' expected)") }
        var lines: [String] = []
        var ok = true
        func check(_ condition: Bool, _ good: String, _ bad: String) {
            lines.append((condition ? "ok    " : "FAIL  ") + (condition ? good : bad))
            if !condition { ok = false }
        }
        let request = try field(bundle["request"], "request")
        let domainJSON = try field(bundle["domain"], "domain")
        guard let chainId = domainJSON["chainId"]?.integerValue, let chain = UInt64(exactly: chainId),
            let contract = try? Address(hex: try string(domainJSON["verifyingContract"], "domain.verifyingContract"))
        else { throw AVSError("'domain' must hold chainId and verifyingContract") }
        let domain = EIP712Domain.kiln(chainId: chain, verifyingContract: contract)
        let jobId = try word(request["jobId"], "request.jobId")
        let model = try string(request["model"], "request.model")
        let input = try field(request["input"], "request.input")
        let inputHash = try word(request["inputHash"], "request.inputHash")
        guard let block = request["referenceBlock"]?.integerValue, let referenceBlock = UInt64(exactly: block) else {
            throw AVSError("'request.referenceBlock' must be a block number")
        }
        check((try? input.canonicalHash()) == inputHash, "inputHash is keccak-256 of the canonical input", "inputHash does not match the input")
        check(try word(request["modelId"], "request.modelId") == Keccak256.hash(utf8: model), "modelId is keccak-256 of '\(model)'", "modelId does not match '\(model)'")

        let stake = try field(bundle["stake"], "stake")
        guard let bps = stake["thresholdBps"]?.integerValue, let thresholdBps = Int(exactly: bps), case .array(let operatorList)? = stake["operators"] else {
            throw AVSError("'stake' must hold thresholdBps and operators")
        }
        var stakes: [Address: BigUInt] = [:]
        var signingKeys: [Address: Address] = [:]
        for entry in operatorList {
            guard let address = try? Address(hex: try string(entry["address"], "stake.operators[].address")),
                let amount = BigUInt(try string(entry["stake"], "stake.operators[].stake"), radix: 10)
            else { throw AVSError("a stake entry is malformed") }
            stakes[address] = amount
            if let keyText = entry["signingKey"]?.stringValue {
                guard let key = try? Address(hex: keyText) else { throw AVSError("stake.operators[].signingKey must be an address") }
                signingKeys[address] = key
            }
        }
        // An on-chain registry's rule: signed weight ≥ its threshold weight, within its total weight.
        var thresholdWeight: BigUInt?
        if let text = stake["thresholdWeight"]?.stringValue {
            guard let weight = BigUInt(text, radix: 10) else { throw AVSError("stake.thresholdWeight must be a decimal weight") }
            thresholdWeight = weight
        }
        let total = thresholdWeight != nil ? BigUInt(try string(stake["total"], "stake.total"), radix: 10) ?? 0 : stakes.values.reduce(BigUInt(0), +)

        func recover(_ outputHash: Bytes32, _ signatureText: String) -> Address? {
            let attestation = InferenceAttestation(jobId: jobId, modelId: Keccak256.hash(utf8: model), inputHash: inputHash, outputHash: outputHash, referenceBlock: referenceBlock)
            guard let signature = try? Signature(hex: signatureText) else { return nil }
            return try? signature.recoverAddress(digest: attestation.signingDigest(domain: domain))
        }
        // Equivocation evidence: both signatures by the operator, over different outputs.
        var equivocators: Set<Address> = []
        if case .array(let evidence)? = bundle["evidence"] {
            for item in evidence {
                let op = try? Address(hex: try string(item["operator"], "evidence[].operator"))
                let first = try field(item["first"], "evidence[].first"), second = try field(item["second"], "evidence[].second")
                let a = try word(first["outputHash"], "outputHash"), b = try word(second["outputHash"], "outputHash")
                let firstSignature = try string(first["signature"], "signature")
                let secondSignature = try string(second["signature"], "signature")
                let key = op.map { signingKeys[$0] ?? $0 }
                let valid = key != nil && a != b && recover(a, firstSignature) == key && recover(b, secondSignature) == key
                check(valid, "equivocation by \(op?.checksummed ?? "?") proven: two signed outputs for this job", "equivocation evidence does not verify")
                if valid, let op { equivocators.insert(op) }
            }
        }
        guard case .object = try field(bundle["accepted"], "accepted"), let accepted = bundle["accepted"] else {
            lines.append("the bundle records no accepted output (quorum was not reached)")
            return Verification(lines: lines, ok: false)
        }
        let acceptedHash = try word(accepted["outputHash"], "accepted.outputHash")
        var signers: Set<Address> = []
        if case .array(let responses)? = bundle["responses"] {
            for response in responses {
                guard let signatureText = response["signature"]?.stringValue, let hashText = response["outputHash"]?.stringValue,
                    let outputHash = try? Bytes32(hex: hashText), outputHash == acceptedHash,
                    let claimed = try? Address(hex: try string(response["operator"], "responses[].operator"))
                else { continue }
                let signer = recover(outputHash, signatureText)
                let key = signingKeys[claimed] ?? claimed
                let registered = (stakes[claimed] ?? 0) > 0
                if signer == key && registered && !equivocators.contains(claimed) {
                    signers.insert(claimed)
                } else if signer != key {
                    lines.append("note  \(claimed.checksummed)'s signature does not recover to its signing key: not counted")
                }
            }
        }
        let signed = signers.reduce(BigUInt(0)) { $0 + (stakes[$1] ?? 0) }
        if let thresholdWeight {
            let reached = thresholdWeight > 0 && signed >= thresholdWeight && signed <= total
            check(reached, "quorum: \(signers.count) valid signers hold weight \(signed) of \(total), registry threshold \(thresholdWeight)",
                  "no quorum: valid signers hold weight \(signed) of \(total), below the registry threshold \(thresholdWeight)")
        } else {
            let reached = total > 0 && signed * 10_000 >= total * BigUInt(thresholdBps)
            check(reached, "quorum: \(signers.count) valid signers hold \(signed) of \(total) stake, threshold \(thresholdBps) bps",
                  "no quorum: valid signers hold \(signed) of \(total) stake, below \(thresholdBps) bps")
        }
        if let output {
            check(Keccak256.hash(output) == acceptedHash, "the output file is the accepted output (keccak-256 \(acceptedHash.hex))",
                  "the output file's keccak-256 is not the accepted outputHash")
        }
        return Verification(lines: lines, ok: ok)
    }
}
