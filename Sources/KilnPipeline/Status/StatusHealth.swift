// Kiln — Apache-2.0. See LICENSE.

public import Foundation
internal import KilnChain
public import KilnStore

/// Whether anything in a ``StoreStatus`` needs a person, as values: each finding with its level, and the worst
/// level, which `kiln status` turns into a Nagios-style exit status (0 OK, 1 WARNING, 2 CRITICAL).
public struct StatusHealth: Sendable, Encodable {
    public enum Level: Int, Sendable, Comparable, Encodable {
        case ok = 0, warning = 1, critical = 2
        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }
        public var name: String {
            switch self {
            case .ok: "OK"
            case .warning: "WARNING"
            case .critical: "CRITICAL"
            }
        }
        public func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            try container.encode(name)
        }
    }

    /// One thing that needs a person.
    public struct Finding: Sendable, Encodable {
        public var level: Level
        /// A stable name for scripts: `stale-lease`, `push-failing`, `chain-lag`, `chain-unreachable`,
        /// `no-recent-run`, `last-run-failed`.
        public var check: String
        public var message: String
    }

    /// What counts as needing a person.
    public struct Thresholds: Sendable {
        /// CRITICAL when the last clean run (exit 0) ended longer ago than this, in seconds (nil: not checked).
        public var maxRunAge: Double?
        /// CRITICAL when the chain is more blocks ahead of what was read than this (an RPC source).
        public var maxChainLag: UInt64
        public init(maxRunAge: Double? = nil, maxChainLag: UInt64 = 50) {
            self.maxRunAge = maxRunAge
            self.maxChainLag = maxChainLag
        }
    }

    /// How far behind the chain the store is: `head − confirmations − cursor` blocks (never below 0).
    public struct ChainLag: Sendable, Encodable {
        public var head: UInt64
        public var readTo: UInt64?
        public var blocks: UInt64
    }

    public var level: Level { findings.map(\.level).max() ?? .ok }
    public var findings: [Finding]
    /// Set with an RPC source that answered.
    public var chainLag: ChainLag?

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(level, forKey: .level)
        try container.encode(findings, forKey: .findings)
        try container.encode(chainLag, forKey: .chainLag)
    }

    enum CodingKeys: String, CodingKey { case level, findings, chainLag }

    /// Assesses `status` against `thresholds`; `chain` is the head and confirmations of an RPC source (nil for a
    /// file of events), or the error reaching it.
    public static func assess(
        _ status: StoreStatus,
        chain: Result<(head: UInt64, confirmations: UInt64, cursor: UInt64?), any Error>?,
        leaseSeconds: Double,
        thresholds: Thresholds,
        now: Double = Date().timeIntervalSince1970
    ) -> StatusHealth {
        var findings: [Finding] = []
        var lag: ChainLag?
        for lease in status.orphanLeases where lease.secondsLeft < -leaseSeconds {
            findings.append(
                Finding(
                    level: .warning,
                    check: "stale-lease",
                    message: "the lease of job \(lease.job) (\(lease.token)) by \(lease.owner), a worker gone, expired "
                        + "\(Int(-lease.secondsLeft)) s ago and no run has taken it over"
                )
            )
        }
        for push in status.ipfs where !push.status.confirmed {
            if let error = push.lastError {
                findings.append(
                    Finding(
                        level: push.status == .failed || push.attempts >= 3 ? .critical : .warning,
                        check: "push-failing",
                        message: "batch \(push.batch) → \(push.target): \(push.status.rawValue) after "
                            + "\(push.attempts) attempt(s): \(error)"
                    )
                )
            }
        }
        switch chain {
        case .success(let chain)?:
            let blocks = JSONRPCEventSource.lag(
                head: chain.head,
                confirmations: chain.confirmations,
                through: chain.cursor
            )
            lag = ChainLag(head: chain.head, readTo: chain.cursor, blocks: blocks)
            if blocks > thresholds.maxChainLag {
                findings.append(
                    Finding(
                        level: .critical,
                        check: "chain-lag",
                        message: "the store has read to block \(chain.cursor.map(String.init) ?? "none"), \(blocks) "
                            + "blocks behind the chain's head \(chain.head) less \(chain.confirmations) confirmations "
                            + "(more than \(thresholds.maxChainLag))"
                    )
                )
            }
        case .failure(let error)?:
            findings.append(
                Finding(level: .critical, check: "chain-unreachable", message: "the events' node: \(error)")
            )
        case nil: break
        }
        if let maxAge = thresholds.maxRunAge {
            if let clean = status.runs.lastClean {
                let age = now - clean.finished
                if age > maxAge {
                    findings.append(
                        Finding(
                            level: .critical,
                            check: "no-recent-run",
                            message: "the last clean batch run ended \(Int(age)) s ago (more than \(Int(maxAge)) s)"
                        )
                    )
                }
            } else {
                findings.append(
                    Finding(level: .critical, check: "no-recent-run", message: "no batch run has ended cleanly yet")
                )
            }
        }
        if let last = status.runs.last, last.exitCode == 1 {
            findings.append(
                Finding(
                    level: .warning,
                    check: "last-run-failed",
                    message: "the last batch run"
                        + (last.batch.map { " (batch \($0))" } ?? "")
                        + " ended with failed jobs or problems (exit 1): its log says which"
                )
            )
        }
        return StatusHealth(findings: findings, chainLag: lag)
    }

    /// The head and confirmations of `configuration`'s RPC source and the store's cursor, or nil for a file source.
    public static func chain(of configuration: Configuration, store: any Store) async
        -> Result<(head: UInt64, confirmations: UInt64, cursor: UInt64?), any Error>?
    {
        guard let url = configuration.rpcURL else { return nil }
        do {
            let head = try await configuration.rpc(url).blockNumber()
            let cursor = try await store.cursor(chainId: configuration.chainId)?.block
            return .success((head, configuration.confirmations, cursor))
        } catch {
            return .failure(error)
        }
    }
}
