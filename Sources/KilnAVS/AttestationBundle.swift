// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
public import KilnCore
internal import KilnCrypto
internal import KilnInference

/// The evidence of a round, as a canonical JSON document (`OUT.attestation.json`): the request, the stake
/// table, every operator's outcome with its signed attestation, the accepted output hash and any equivocation.
/// ``verify(_:output:)`` checks it offline, with nothing but this file (and optionally the output).
public enum AttestationBundle {
    /// The bundle format's name and version, written in every bundle.
    public static let format = "kiln/attestation-bundle/1"

    /// The committed outputs a bundle names: under a tolerance policy, each response's output hash (hex) and the
    /// CID its output was published under (``json(_:outputCIDs:)``'s `outputCID`); none for an exact round. What a
    /// batch publishes as `provenance/<token>/outputs/<hash>.png`, and what a worker copies with the bundle.
    public static func committedOutputs(_ bundle: JSONValue) -> [(outputHash: String, cid: String)] {
        guard bundle["agreement"] != nil, case .array(let responses)? = bundle["responses"] else { return [] }
        return responses.compactMap { response in
            guard let hash = response["outputHash"]?.stringValue, let cid = response["outputCID"]?.stringValue else {
                return nil
            }
            return (hash, cid)
        }
    }

    /// The bundle for a round's report: request, stake table, every answer and its outcome, evidence, the accepted output.
    /// Signers are in stake-table order, so the same round gives the same bytes.
    ///
    /// A round under a non-exact policy adds `agreement` (policy, policy hash, the canonical choice and the
    /// digest every agreeing operator signed) and, per committed operator, its output's CID (from `outputCIDs`,
    /// when the caller published the outputs), its distance to the canonical output and its agreement signature;
    /// false agreements join `evidence` with `"kind": "false-agreement"`. An exact round's bundle is unchanged.
    public static func json(_ report: QuorumReport, outputCIDs: [Bytes32: String] = [:]) -> JSONValue {
        let domain = report.table.domain
        func signed(_ answer: SignedAnswer) -> JSONValue {
            [
                "outputHash": .string(answer.attestation.outputHash.hex), "signature": .string(answer.signature.hex),
            ]
        }
        var responses: [JSONValue] = []
        for (op, outcome, answer) in report.outcomes {
            var entry: [String: JSONValue] = [
                "operator": .string(op.address.checksummed), "outcome": .string(outcome.label),
            ]
            if let answer {  // equivocators' signatures are kept too: the verifier excludes them by the evidence
                entry["outputHash"] = .string(answer.attestation.outputHash.hex)
                entry["signature"] = .string(answer.signature.hex)
            }
            if let reason = outcome.reason { entry["reason"] = .string(reason) }
            if let agreement = report.agreement, let answer {
                if let cid = outputCIDs[answer.attestation.outputHash] { entry["outputCID"] = .string(cid) }
                if let own = agreement.entries[op.address] {
                    if let distance = own.distance { entry["distance"] = distance.json }
                    if let signature = own.signature { entry["agreementSignature"] = .string(signature.hex) }
                }
            }
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
                "inputHash": .string(report.request.inputHash.hex),
                "referenceBlock": .number(report.request.referenceBlock),
            ],
            "stake": stakeJSON(report.table),
            "responses": .array(responses),
            "evidence": .array(
                report.evidence.map { e in
                    ["operator": .string(e.operator.checksummed), "first": signed(e.first), "second": signed(e.second)]
                }
                    + report.falseAgreements.map { e in
                        var committed = signed(e.committed)
                        if case .object(var fields) = committed,
                            let cid = outputCIDs[e.committed.attestation.outputHash]
                        {
                            fields["outputCID"] = .string(cid)
                            committed = .object(fields)
                        }
                        return [
                            "kind": "false-agreement", "operator": .string(e.operator.checksummed),
                            "committed": committed, "agreementSignature": .string(e.agreementSignature.hex),
                        ]
                    }
            ),
        ]
        if let agreement = report.agreement {
            document["agreement"] = [
                "policy": agreement.policy.json, "policyHash": .string(agreement.policy.hash.hex),
                "canonical": [
                    "operator": .string(agreement.canonicalOperator.checksummed),
                    "outputHash": .string(agreement.canonicalOutputHash.hex),
                ],
                "digest": .string(agreement.agreement.signingDigest(domain: domain).hex),
            ]
        }
        if let accepted = report.accepted {
            document["accepted"] = [
                "outputHash": .string(accepted.outputHash.hex),
                "signers": .array(accepted.signers.map { .string($0.checksummed) }),
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
            "operators": .array(
                table.operators.map { op in
                    var entry: [String: JSONValue] = [
                        "address": .string(op.address.checksummed), "stake": .string(String(op.stake)),
                    ]
                    if op.signingKey != op.address { entry["signingKey"] = .string(op.signingKey.checksummed) }
                    return .object(entry)
                }
            ),
        ]
        if let threshold = table.thresholdWeight { stake["thresholdWeight"] = .string(String(threshold)) }
        return .object(stake)
    }

    /// What an offline check found: every check in order, each a value a caller can filter on (by kind, by the
    /// operator it concerns) rather than a line to parse.
    public struct Verification: Sendable {
        /// The checks, in the order they ran.
        public var checks: [Check]
        /// Whether every check held.
        public var ok: Bool { !checks.contains { $0.result == .failed } && checks.contains { $0.kind == .quorum } }

        /// The checks as lines for people (``Check/line``).
        public var lines: [String] { checks.map(\.line) }
    }

    /// One check of a bundle (or a note on it): what was checked, about whom, whether it held, and what was found.
    public struct Check: Hashable, Sendable {
        /// What a check is about.
        public enum Kind: String, Hashable, Sendable, CaseIterable {
            /// `inputHash` is the hash of the input.
            case inputHash
            /// `modelId` is the hash of the model name.
            case modelId
            /// Equivocation evidence: one operator signed two outputs for the job.
            case equivocation
            /// The agreement policy and its hash.
            case agreementPolicy
            /// The committed outputs are given and hash to what was signed.
            case committedOutputs
            /// The canonical output is the rule's choice (and the accepted output).
            case canonicalChoice
            /// The agreement digest every agreeing operator signed.
            case agreementDigest
            /// An operator's recorded distance to the canonical output.
            case distance
            /// A signature that does not recover to the operator's signing key.
            case signature
            /// An operator agreed to a canonical output outside tolerance of its own (evidence, or a note).
            case falseAgreement
            /// The stake of the valid signers against the threshold.
            case quorum
            /// The file given is the accepted output.
            case outputFile
            /// The bundle's stake table against a registry (``AttestationBundle/checkStakes(_:registry:source:)``).
            case stakes
        }

        /// How a check came out.
        public enum Result: String, Hashable, Sendable {
            /// It held.
            case passed
            /// It did not: the bundle does not verify.
            case failed
            /// Not a check: something found that does not fail the bundle (a signature not counted).
            case noted
        }

        /// What was checked.
        public var kind: Kind
        /// The operator it concerns, if one.
        public var subject: Address?
        /// How it came out.
        public var result: Result
        /// What was found, for people.
        public var evidence: String

        /// A check.
        public init(_ kind: Kind, subject: Address? = nil, _ result: Result, _ evidence: String) {
            self.kind = kind
            self.subject = subject
            self.result = result
            self.evidence = evidence
        }

        /// `ok    …`, `FAIL  …` or `note  …`: the line `kiln verify-attestation` prints.
        public var line: String {
            switch result {
            case .passed: "ok    " + evidence
            case .failed: "FAIL  " + evidence
            case .noted: "note  " + evidence
            }
        }
    }

    /// Records checks in order; what ``verify(_:output:outputs:)`` and its agreement part write to.
    struct CheckList {
        var checks: [Check] = []

        /// A check: `good` when `condition` holds, else `bad`.
        mutating func check(
            _ kind: Check.Kind,
            _ subject: Address? = nil,
            _ condition: Bool,
            _ good: @autoclosure () -> String,
            _ bad: @autoclosure () -> String
        ) {
            checks.append(Check(kind, subject: subject, condition ? .passed : .failed, condition ? good() : bad()))
        }

        /// A failed check.
        mutating func fail(_ kind: Check.Kind, _ subject: Address? = nil, _ evidence: String) {
            checks.append(Check(kind, subject: subject, .failed, evidence))
        }

        /// A note.
        mutating func note(_ kind: Check.Kind, _ subject: Address? = nil, _ evidence: String) {
            checks.append(Check(kind, subject: subject, .noted, evidence))
        }
    }

    /// Re-derives every digest, recovers every signature, sums the stake of distinct valid signers of the
    /// accepted output (equivocators excluded) and compares it with the threshold; checks each piece of
    /// equivocation evidence; with `output`, checks that the file is the accepted output.
    ///
    /// A bundle with `agreement` needs every committed output (`outputs`, by keccak-256): the policy, every
    /// distance, the canonical choice, each agreement signature and any false-agreement evidence are recomputed
    /// from them (see ``verifyAgreement(_:_:outputs:equivocators:into:)``).
    public static func verify(_ bundle: JSONValue, output: [UInt8]? = nil, outputs: [Bytes32: [UInt8]] = [:])
        throws(AVSError) -> Verification
    {
        let parsed = try Parsed(bundle)
        var list = CheckList()
        let field = Parsed.field, string = Parsed.string, word = Parsed.word
        let model = parsed.model
        let input = try field(bundle["request"]?["input"], "request.input")
        list.check(
            .inputHash,
            nil,
            (try? input.canonicalHash()) == parsed.inputHash,
            "inputHash is keccak-256 of the canonical input",
            "inputHash does not match the input"
        )
        list.check(
            .modelId,
            nil,
            try word(bundle["request"]?["modelId"], "request.modelId") == Keccak256.hash(utf8: model),
            "modelId is keccak-256 of '\(model)'",
            "modelId does not match '\(model)'"
        )
        func recover(_ outputHash: Bytes32, _ signatureText: String) -> Address? {
            guard let signature = try? Signature(hex: signatureText) else { return nil }
            return parsed.signer(of: outputHash, signature)
        }
        // Equivocation evidence: both signatures by the operator, over different outputs.
        var equivocators: Set<Address> = []
        if case .array(let evidence)? = bundle["evidence"] {
            for item in evidence where item["kind"] == nil {
                let op = try? Address(hex: try string(item["operator"], "evidence[].operator"))
                let first = try field(item["first"], "evidence[].first"),
                    second = try field(item["second"], "evidence[].second")
                let a = try word(first["outputHash"], "outputHash"), b = try word(second["outputHash"], "outputHash")
                let firstSignature = try string(first["signature"], "signature")
                let secondSignature = try string(second["signature"], "signature")
                let key = op.map(parsed.key(of:))
                let valid =
                    key != nil && a != b && recover(a, firstSignature) == key && recover(b, secondSignature) == key
                list.check(
                    .equivocation,
                    op,
                    valid,
                    "equivocation by \(op?.checksummed ?? "?") proven: two signed outputs for this job",
                    "equivocation evidence does not verify"
                )
                if valid, let op { equivocators.insert(op) }
            }
        }
        guard case .object = try field(bundle["accepted"], "accepted"), let accepted = bundle["accepted"] else {
            list.fail(.quorum, nil, "the bundle records no accepted output (quorum was not reached)")
            return Verification(checks: list.checks)
        }
        let acceptedHash = try word(accepted["outputHash"], "accepted.outputHash")
        var signers: Set<Address> = []
        if bundle["agreement"] != nil {
            guard
                let agreed = try verifyAgreement(
                    bundle,
                    parsed,
                    outputs: outputs,
                    equivocators: equivocators,
                    into: &list
                )
            else { return Verification(checks: list.checks) }
            list.check(
                .canonicalChoice,
                nil,
                agreed.canonical == acceptedHash,
                "the accepted output is the canonical output",
                "accepted.outputHash is not the canonical output \(agreed.canonical.hex)"
            )
            signers = agreed.signers
        } else if case .array(let responses)? = bundle["responses"] {
            for response in responses {
                guard let signatureText = response["signature"]?.stringValue,
                    let hashText = response["outputHash"]?.stringValue,
                    let outputHash = try? Bytes32(hex: hashText), outputHash == acceptedHash,
                    let claimed = try? Address(hex: try string(response["operator"], "responses[].operator"))
                else { continue }
                let signer = recover(outputHash, signatureText)
                let key = parsed.key(of: claimed)
                let registered = parsed.stake(of: claimed) > 0
                if signer == key && registered && !equivocators.contains(claimed) {
                    signers.insert(claimed)
                } else if signer != key {
                    list.note(
                        .signature,
                        claimed,
                        "\(claimed.checksummed)'s signature does not recover to its signing key: not counted"
                    )
                }
            }
        }
        let signed = signers.reduce(BigUInt(0)) { $0 + parsed.stake(of: $1) }
        let reached = parsed.table.reaches(signed)
        let total = parsed.table.totalStake, thresholdBps = parsed.table.thresholdBps
        if let thresholdWeight = parsed.table.thresholdWeight {
            list.check(
                .quorum,
                nil,
                reached,
                "quorum: \(signers.count) valid signers hold weight \(signed) of \(total), registry threshold \(thresholdWeight)",
                "no quorum: valid signers hold weight \(signed) of \(total), below the registry threshold \(thresholdWeight)"
            )
        } else {
            list.check(
                .quorum,
                nil,
                reached,
                "quorum: \(signers.count) valid signers hold \(signed) of \(total) stake, threshold \(thresholdBps) bps",
                "no quorum: valid signers hold \(signed) of \(total) stake, below \(thresholdBps) bps"
            )
        }
        if let output {
            list.check(
                .outputFile,
                nil,
                Keccak256.hash(output) == acceptedHash,
                "the output file is the accepted output (keccak-256 \(acceptedHash.hex))",
                "the output file's keccak-256 is not the accepted outputHash"
            )
        }
        return Verification(checks: list.checks)
    }

    /// What a bundle's signatures are over and who may sign them, read once for ``verify(_:output:)`` and
    /// ``OnchainPayload``.
    struct Parsed {
        let domain: EIP712Domain
        let jobId: Bytes32
        let model: String
        let inputHash: Bytes32
        let referenceBlock: UInt64
        /// The stake table the bundle records (endpoints are not in it).
        let table: StakeTable
        private let operators: [Address: Operator]

        init(_ bundle: JSONValue) throws(AVSError) {
            guard bundle["format"]?.stringValue == format else {
                throw AVSError("not a Kiln attestation bundle (format '\(format)' expected)")
            }
            let request = try Self.field(bundle["request"], "request")
            let domainJSON = try Self.field(bundle["domain"], "domain")
            guard let chainId = domainJSON["chainId"]?.integerValue, let chain = UInt64(exactly: chainId),
                let contract = try? Address(
                    hex: try Self.string(domainJSON["verifyingContract"], "domain.verifyingContract")
                )
            else { throw AVSError("'domain' must hold chainId and verifyingContract") }
            domain = EIP712Domain.kiln(chainId: chain, verifyingContract: contract)
            jobId = try Self.word(request["jobId"], "request.jobId")
            model = try Self.string(request["model"], "request.model")
            _ = try Self.field(request["input"], "request.input")
            inputHash = try Self.word(request["inputHash"], "request.inputHash")
            guard let block = request["referenceBlock"]?.integerValue, let reference = UInt64(exactly: block) else {
                throw AVSError("'request.referenceBlock' must be a block number")
            }
            referenceBlock = reference

            let stake = try Self.field(bundle["stake"], "stake")
            guard let bps = stake["thresholdBps"]?.integerValue, let thresholdBps = Int(exactly: bps),
                case .array(let operatorList)? = stake["operators"]
            else {
                throw AVSError("'stake' must hold thresholdBps and operators")
            }
            var operators: [Operator] = []
            for entry in operatorList {
                guard let address = try? Address(hex: try Self.string(entry["address"], "stake.operators[].address")),
                    let amount = BigUInt(try Self.string(entry["stake"], "stake.operators[].stake"), radix: 10)
                else { throw AVSError("a stake entry is malformed") }
                var key: Address?
                if let keyText = entry["signingKey"]?.stringValue {
                    guard let parsed = try? Address(hex: keyText) else {
                        throw AVSError("stake.operators[].signingKey must be an address")
                    }
                    key = parsed
                }
                operators.append(Operator(address: address, signingKey: key, endpoint: nil, stake: amount))
            }
            var table = StakeTable(
                operators: operators,
                thresholdBps: thresholdBps,
                domain: domain,
                referenceBlock: reference
            )
            if let text = stake["thresholdWeight"]?.stringValue {
                guard let weight = BigUInt(text, radix: 10) else {
                    throw AVSError("stake.thresholdWeight must be a decimal weight")
                }
                table.thresholdWeight = weight
                table.totalWeight = BigUInt(try Self.string(stake["total"], "stake.total"), radix: 10) ?? 0
            }
            self.table = table
            self.operators = Dictionary(operators.map { ($0.address, $0) }, uniquingKeysWith: { $1 })
        }

        /// The key `op` signs with.
        func key(of op: Address) -> Address { operators[op]?.signingKey ?? op }

        /// `op`'s position in the stake table (past the end when it is not listed).
        func order(of op: Address) -> Int { table.operators.firstIndex { $0.address == op } ?? Int.max }

        /// Whether `op` is in the stake table.
        func lists(_ op: Address) -> Bool { operators[op] != nil }

        /// The stake (weight) of `op`; 0 when it is not in the table.
        func stake(of op: Address) -> BigUInt { operators[op]?.stake ?? 0 }

        /// The EIP-712 digest of this job's attestation of `outputHash`.
        func digest(_ outputHash: Bytes32) -> Bytes32 {
            InferenceAttestation(
                jobId: jobId,
                modelId: Keccak256.hash(utf8: model),
                inputHash: inputHash,
                outputHash: outputHash,
                referenceBlock: referenceBlock
            )
            .signingDigest(domain: domain)
        }

        /// Who signed `outputHash` with `signature` (nil when it does not recover).
        func signer(of outputHash: Bytes32, _ signature: Signature) -> Address? {
            try? signature.recoverAddress(digest: digest(outputHash))
        }

        static func field(_ value: JSONValue?, _ name: String) throws(AVSError) -> JSONValue {
            guard let value, value != .null else { throw AVSError("the bundle has no '\(name)'") }
            return value
        }
        static func string(_ value: JSONValue?, _ name: String) throws(AVSError) -> String {
            guard let text = try field(value, name).stringValue else { throw AVSError("'\(name)' must be text") }
            return text
        }
        static func address(_ value: JSONValue?, _ name: String) throws(AVSError) -> Address {
            guard let address = try? Address(hex: try string(value, name)) else {
                throw AVSError("'\(name)' must be an address")
            }
            return address
        }
        static func word(_ value: JSONValue?, _ name: String) throws(AVSError) -> Bytes32 {
            guard let word = try? Bytes32(hex: try string(value, name)) else {
                throw AVSError("'\(name)' must be 32 bytes of hex")
            }
            return word
        }
    }
}
