// Kiln — Apache-2.0. See LICENSE.

public import BigInt
public import KilnCore
public import KilnCrypto
public import KilnInference
internal import KilnImage

/// What happened with one operator in a round.
public enum Outcome: Hashable, Sendable {
    /// Signed the accepted output.
    case agreed
    /// Validly signed a different output: one other than the accepted output or, without quorum, the leading one.
    case disagreed
    /// Validly signed the output that led when the round ended without quorum: it answered like the others that
    /// led, and their stake together did not reach the threshold.
    case unconfirmed
    /// Answered, but the answer does not verify (the error says why).
    case invalid(AVSError)
    /// Could not be reached or answered with an error (the node's ``InferenceError`` is its cause).
    case failed(AVSError)
    case timedOut
    /// Signed two different outputs for this job: its signatures are dropped.
    case equivocated
    /// Not waited for: the quorum was already certain.
    case notNeeded
    /// Committed, then refused to agree with the canonical output (out of the policy's tolerance; the node's
    /// reason, its answer the cause).
    case refused(AVSError)

    /// A short name for reports (`agreed`, `disagreed`, `unreachable`, …).
    public var label: String {
        switch self {
        case .agreed: "agreed"
        case .disagreed: "disagreed"
        case .unconfirmed: "answered — no quorum"
        case .invalid: "invalid"
        case .failed: "failed"
        case .timedOut: "timeout"
        case .equivocated: "equivocated"
        case .notNeeded: "not-needed"
        case .refused: "refused"
        }
    }

    /// Why, when the outcome has a reason: an error value, its cause the node's own error where there is one.
    public var error: AVSError? {
        switch self {
        case .invalid(let error), .failed(let error), .refused(let error): error
        default: nil
        }
    }

    /// ``error``'s message, for reports (an HTTP status, a recovery failure).
    public var reason: String? { error?.message }
}

/// A signed answer that verified: the attestation, its signature and the output bytes.
public struct SignedAnswer: Hashable, Sendable {
    /// What was signed.
    public var attestation: InferenceAttestation
    /// The operator's signature over the attestation's EIP-712 digest.
    public var signature: Signature
    /// The output bytes the node returned.
    public var output: [UInt8]
}

/// Two different outputs signed by one operator for one job: anyone can check both signatures.
public struct EquivocationEvidence: Hashable, Sendable {
    /// The operator that signed both answers.
    public var `operator`: Address
    /// The first answer seen (its output bytes are not kept: its attestation names them by hash).
    public var first: SignedAnswer
    /// A second, different answer to the same job.
    public var second: SignedAnswer
}

/// Remembers every verified signed answer per operator and job, across rounds and retries, to catch equivocation.
/// It keeps what the evidence needs — the attestation (which names the output by its hash) and the signature —
/// not the output bytes, and a caller that is done with a job (`kiln batch`, once the job's outcome is recorded)
/// forgets it, so a run over ten thousand jobs holds only those in flight.
public actor SignatureLog {
    private var seen: [Bytes32: [Address: SignedAnswer]] = [:]
    /// Every equivocation caught so far (and not forgotten).
    public private(set) var evidence: [EquivocationEvidence] = []

    /// An empty log.
    public init() {}

    /// Records an answer; returns evidence when the operator signed a different output for this job before.
    func record(_ address: Address, _ answer: SignedAnswer) -> EquivocationEvidence? {
        let job = answer.attestation.jobId
        guard let earlier = seen[job]?[address] else {
            seen[job, default: [:]][address] = SignedAnswer(
                attestation: answer.attestation,
                signature: answer.signature,
                output: []
            )
            return nil
        }
        guard earlier.attestation.outputHash != answer.attestation.outputHash else { return nil }
        let found = EquivocationEvidence(operator: address, first: earlier, second: answer)
        if !evidence.contains(where: {
            $0.operator == address && $0.first.attestation.jobId == answer.attestation.jobId
        }) {
            evidence.append(found)
        }
        return found
    }

    func hasEquivocated(_ address: Address, job: Bytes32) -> Bool {
        evidence.contains { $0.operator == address && $0.first.attestation.jobId == job }
    }

    /// Drops what the log holds for `job` (its answers and any evidence, which its round has reported).
    public func forget(job: Bytes32) {
        seen[job] = nil
        evidence.removeAll { $0.first.attestation.jobId == job }
    }
}

/// The result of a round: per operator what happened, and the accepted output if the quorum was reached.
public struct QuorumReport: Sendable {
    /// The job that was asked.
    public var request: JobRequest
    /// The stake table the round counted with.
    public var table: StakeTable
    /// What became of each operator, in stake-table order.
    public var outcomes: [(operator: Operator, outcome: Outcome, answer: SignedAnswer?)]
    /// The accepted output and who signed it; nil without quorum.
    public var accepted: (output: [UInt8], outputHash: Bytes32, signers: [Address], signedStake: BigUInt)?
    /// Equivocations caught in this round.
    public var evidence: [EquivocationEvidence]
    /// The agreement phase, for a round under a non-exact policy.
    public var agreement: AgreementRecord?
    /// Operators that signed agreement to a canonical output outside tolerance of their own.
    public var falseAgreements: [FalseAgreementEvidence] = []

    /// One paragraph a person can read: who agreed, who didn't and why, and the verdict.
    public var summary: String {
        var lines: [String] = []
        let total = table.totalStake
        for (op, outcome, answer) in outcomes {
            var line = "  \(op.address.checksummed)  stake \(Self.percent(op.stake, of: total))  \(outcome.label)"
            if let agreement, let answer {
                line += "  committed \(answer.attestation.outputHash.hex.prefix(18))…"
                if answer.attestation.outputHash == agreement.canonicalOutputHash {
                    line += "  canonical"
                } else if let distance = agreement.entries[op.address]?.distance {
                    line += "  \(distance)"
                } else if agreement.entries[op.address] != nil {
                    line += "  not comparable"
                }
            } else if let answer, outcome != .agreed {
                line += "  output \(answer.attestation.outputHash.hex.prefix(18))…"
            }
            if let reason = outcome.reason { line += "  (\(reason))" }
            lines.append(line)
        }
        if let agreement {
            lines.append(
                "agreement policy \(agreement.policy) (hash \(agreement.policy.hash.hex.prefix(18))…); canonical output "
                    + "\(agreement.canonicalOutputHash.hex.prefix(18))… of \(agreement.canonicalOperator.checksummed)"
            )
        }
        if let accepted {
            lines.append(
                "quorum reached: \(accepted.signers.count) of \(table.operators.count) operators holding \(Self.percent(accepted.signedStake, of: total)) "
                    + "of stake (threshold \(Double(table.thresholdBps) / 100) %) signed output \(accepted.outputHash.hex)"
            )
        } else {
            lines.append(
                "quorum NOT reached: no output was signed by operators holding \(Double(table.thresholdBps) / 100) % of stake"
            )
            if agreement == nil, let line = differingOutputs { lines.append(line) }
        }
        for item in falseAgreements {
            lines.append(
                "false agreement: \(item.operator.checksummed) agreed to a canonical output outside tolerance of its own committed output"
                    + (item.distance.map { " (\($0))" } ?? " (not comparable)")
            )
        }
        for item in evidence {
            lines.append(
                "equivocation: \(item.operator.checksummed) signed \(item.first.attestation.outputHash.hex.prefix(18))… and \(item.second.attestation.outputHash.hex.prefix(18))… for job \(item.first.attestation.jobId.hex.prefix(18))…"
            )
        }
        return lines.joined(separator: "\n")
    }

    /// Under a tolerance policy, every committed output (by keccak-256): what a verifier recomputes the agreement
    /// from, and what a batch publishes. Empty for an exact round.
    public var committedOutputs: [Bytes32: [UInt8]] {
        guard let agreement else { return [:] }
        var outputs: [Bytes32: [UInt8]] = [:]
        for row in outcomes where agreement.entries[row.operator.address] != nil {
            if let answer = row.answer { outputs[answer.attestation.outputHash] = answer.output }
        }
        return outputs
    }

    /// Under `exact`, when answers differ: how far apart the two most-signed outputs are, in pixels.
    var differingOutputs: String? {
        var byHash: [Bytes32: (stake: BigUInt, output: [UInt8])] = [:]
        for (op, _, answer) in outcomes {
            guard let answer else { continue }
            byHash[answer.attestation.outputHash, default: (0, answer.output)].stake += op.stake
        }
        guard byHash.count >= 2 else { return nil }
        let top = byHash.sorted {
            $0.value.stake > $1.value.stake || ($0.value.stake == $1.value.stake && $0.key.hex < $1.key.hex)
        }
        let (a, b) = (top[0], top[1])
        let distance = PixelDistance.between(files: a.value.output, b.value.output)
        return
            "the outputs differ: \(byHash.count) distinct outputs; \(a.key.hex.prefix(18))… vs \(b.key.hex.prefix(18))…: "
            + (distance.map { "\($0)" } ?? "not comparable as images of one size")
            + (distance == nil ? "" : " (a template's 'inference.agreement' can accept outputs within a tolerance)")
    }

    static func percent(_ part: BigUInt, of whole: BigUInt) -> String {
        guard whole > 0 else { return "0 %" }
        let basis = part * 10_000 / whole
        return "\(basis / 100).\(String(Int(basis % 100)).leftPadded(2)) %"
    }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
