// Kiln — Apache-2.0. See LICENSE.

public import BigInt
internal import Foundation
public import KilnAVS
public import KilnCore

/// What a job's quorum came to, as values: who signed, how much stake, against what threshold, and who did not
/// count and why. A report line and the demo's table cell are renderings of it (``description``,
/// ``signedShare``); nothing needs to take the text apart.
public struct QuorumSummary: Hashable, Sendable, CustomStringConvertible {
    /// An operator whose answer did not count.
    public struct Rejection: Hashable, Sendable {
        /// The operator.
        public var `operator`: Address
        /// Its stake (weight) in the table the round counted with.
        public var stake: BigUInt
        /// What became of it (``Outcome/label`` and ``Outcome/reason`` for people).
        public var outcome: Outcome
    }

    /// Whether the quorum was reached.
    public var reached: Bool
    /// Operators whose signatures counted (0 without quorum).
    public var signers: Int
    /// Operators in the stake table.
    public var operators: Int
    /// The signers' share of the stake, in basis points (rounded down; 0 without quorum).
    public var signedBps: Int
    /// The table's threshold, in basis points.
    public var thresholdBps: Int
    /// The agreement policy, when the operators agreed within a tolerance rather than on identical bytes.
    public var agreementPolicy: AgreementPolicy?
    /// The operators that did not count (not the ones not waited for), in stake-table order.
    public var rejected: [Rejection]
    /// `kiln regen --reuse-attested`: no round ran; the stored attested output with this CID was verified again.
    public var reusedOutput: String?

    /// The summary of a round's report.
    public init(_ report: QuorumReport) {
        let total = report.table.totalStake
        reached = report.accepted != nil
        signers = report.accepted?.signers.count ?? 0
        operators = report.table.operators.count
        signedBps = report.accepted.map { total > 0 ? Int($0.signedStake * 10_000 / total) : 0 } ?? 0
        thresholdBps = report.table.thresholdBps
        agreementPolicy = report.agreement?.policy
        rejected = report.outcomes.filter { $0.outcome != .agreed && $0.outcome != .notNeeded }.map {
            Rejection(operator: $0.operator.address, stake: $0.operator.stake, outcome: $0.outcome)
        }
        reusedOutput = nil
    }

    /// A job that re-used a stored attested output (its bundle verified again) instead of asking the nodes.
    public init(reusedOutput cid: String) {
        reached = true
        signers = 0
        operators = 0
        signedBps = 0
        thresholdBps = 0
        agreementPolicy = nil
        rejected = []
        reusedOutput = cid
    }

    /// `3/4 operators, 85.0 % of stake`: who signed (the demo's table shortens it further).
    public var signedShare: String {
        if let reusedOutput { return "reused attested output \(reusedOutput)" }
        guard reached else { return "no quorum" }
        return "\(signers)/\(operators) operators, \(signedPercent) of stake"
    }

    /// The signers' share, `85.0 %`.
    public var signedPercent: String { String(format: "%.1f %%", Double(signedBps) / 100) }

    /// "3/4 operators, 85.0 % of stake (threshold 66.67 %); rejected: 0xAbc… (disagreed)": the line a job's report
    /// carries and a job without quorum keeps in the store.
    public var description: String {
        if reusedOutput != nil { return signedShare }
        var line = signedShare
        if reached, let agreementPolicy { line += " agreed within \(agreementPolicy)" }
        line += " (threshold \(Double(thresholdBps) / 100) %)"
        if !rejected.isEmpty {
            line +=
                "; rejected: "
                + rejected.map {
                    "\($0.operator.checksummed.prefix(10))… (\($0.outcome.label)\($0.outcome.reason.map { ": \($0)" } ?? ""))"
                }
                .joined(separator: ", ")
        }
        return line
    }
}
