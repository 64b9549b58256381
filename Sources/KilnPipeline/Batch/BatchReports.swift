// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
public import KilnContent
public import KilnCore
public import KilnStore

/// What became of one job: a value with the publication, the quorum, or the error itself (its causes kept).
public enum JobResult: Sendable {
    /// Rendered and published; the publication is recorded.
    case published(Publication)
    /// Quorum not reached: queued again for the next run.
    case noQuorum(QuorumSummary)
    /// The job failed with this error; it stays failed until its token changes or `kiln regen` runs it.
    case failed(any Error)
    /// A newer state or template replaced it before it ran.
    case superseded(Supersession)
    /// Not the job's fault (its template does not load, the store or the disk failed): left for a later run.
    case deferred(any Error)

    /// The outcome's name in reports and metrics: `published`, `no_quorum`, `failed`, `superseded`, `deferred`.
    public var name: String {
        switch self {
        case .published: "published"
        case .noQuorum: "no_quorum"
        case .failed: "failed"
        case .superseded: "superseded"
        case .deferred: "deferred"
        }
    }

    /// Why, as text: what the store keeps as the job's last error and what a report prints (nil for a
    /// publication). The one place a job's outcome becomes text.
    public var reason: String? {
        switch self {
        case .published: nil
        case .noQuorum(let summary): summary.description
        case .failed(let error), .deferred(let error): ErrorChain.human(error)
        case .superseded(let why): why.description
        }
    }
}

/// Why a job was replaced before it ran.
public enum Supersession: Hashable, Sendable, CustomStringConvertible {
    /// The contract's template changed since the job was queued.
    case templateChanged
    /// The token has a newer state (this version), queued as its own job.
    case newerState(version: Int)

    /// `the template changed`, `a newer state (version 3) is queued`.
    public var description: String {
        switch self {
        case .templateChanged: "the template changed"
        case .newerState(let version): "a newer state (version \(version)) is queued"
        }
    }
}

/// One job's outcome, as the job loop reports it.
public struct JobReport: Sendable {
    /// The store's job id.
    public var jobId: Int64
    /// The token the job renders.
    public var token: TokenKey
    /// What became of it.
    public var result: JobResult
    /// The quorum (signers, stake, who did not count), when a round ran or an attested output was re-used.
    public var quorum: QuorumSummary?
    /// Wall-clock seconds the job took.
    public var seconds: Double
    /// When the outcome could not be recorded (the store failed): the status and reason still to record. The job
    /// is then still leased by this run.
    public var unrecorded: (status: JobStatus, reason: String)?
    /// Set when the disk or the store refused a write (full, read-only): the job stays leased (the next run
    /// reclaims it into the same batch) and the run stops taking jobs, leaving the batch open.
    public var halt: String?
}

/// What ``ChainSync`` did: logs read, tokens folded, jobs queued, and what went wrong with the input.
public struct SyncReport: Sendable {
    /// Logs of watched contracts recorded in this run.
    public var newLogs = 0
    /// The block the cursor reached.
    public var through: UInt64?
    /// Blocks the chain was ahead of `through` at the end of the sync (head − confirmations − through); nil for a
    /// file of events.
    public var chainLag: UInt64?
    /// Tokens whose state was folded again.
    public var refolded = 0
    /// Tokens whose state changed.
    public var changed = 0
    /// Jobs queued (new, or queued again).
    public var queued = 0
    /// Problems with the input (skipped lines, undecodable logs, templates that don't load, deep reorgs).
    public var problems: [Problem] = []
    /// What happened that is not a problem (a reorganisation within the confirmations).
    public var notes: [String] = []
}

/// The outcome of one `kiln batch` run.
public struct BatchSummary: Sendable {
    /// The batch number, or nil when there was nothing to do.
    public var batch: Int?
    /// Jobs published.
    public var published = 0
    /// Tokens of this batch published by other processes (`kiln worker`s).
    public var publishedByOthers = 0
    /// Jobs without quorum (queued again).
    public var noQuorum = 0
    /// Jobs failed.
    public var failed = 0
    /// Jobs replaced by a newer state or template before they ran.
    public var superseded = 0
    /// Jobs whose template does not load.
    public var deferred = 0
    /// The batch directory's root CID (the CAR's root).
    public var root: CID?
    /// The path of `batch-<n>.car`.
    public var car: String?
    /// The path of the contact sheet.
    public var sheet: String?
    /// The path of `manifest.json`.
    public var manifest: String?
    /// Problems with the input or the run; any makes the exit status 1.
    public var problems: [Problem] = []
    /// Transactions sent to make `tokenURI` match (publish.mode onchain / onchain-base).
    public var transactions: [OnchainTransaction] = []
    /// The pushes to IPFS providers this run made or retried (``IPFSPusher``), as they now stand.
    public var pushes: [IPFSPush] = []
    /// Wall-clock seconds of the run.
    public var seconds = 0.0

    /// 0 done, 1 some jobs failed (or input problems), 3 some jobs lack quorum (retried next run).
    public var exitCode: Int32 {
        if failed > 0 || deferred > 0 || !problems.isEmpty { return 1 }
        return noQuorum > 0 ? 3 : 0
    }

    mutating func count(_ result: JobResult) {
        switch result {
        case .published: published += 1
        case .noQuorum: noQuorum += 1
        case .failed: failed += 1
        case .superseded: superseded += 1
        case .deferred: deferred += 1
        }
    }
}

/// Progress of a batch, as it happens.
public enum BatchEvent: Sendable {
    /// ``ChainSync`` finished.
    case synced(SyncReport)
    /// The batch opened (or an interrupted one resumed) with this many runnable jobs.
    case started(batch: Int, jobs: Int, resumed: Bool)
    /// One job ended; `done` of `total` so far.
    case job(JobReport, done: Int, total: Int)
    /// The batch waits for `jobs` jobs held or not yet taken by `kiln worker`s (sent when the count changes).
    case waiting(batch: Int, jobs: Int)
    /// Every job ended; the batch's outputs are being written.
    case finishing(batch: Int)
    /// A transaction was sent and confirmed.
    case transaction(OnchainTransaction)
    /// A batch was pushed to an IPFS provider (or checked through a gateway): where it now stands.
    case pushed(IPFSPush)
    /// The run ended.
    case finished(BatchSummary)
}

/// How a run processes jobs.
public struct BatchOptions: Sendable {
    /// Jobs processed at once.
    public var concurrency = 4
    /// Process at most this many jobs.
    public var maxJobs: Int?
    /// Only these jobs (`kiln regen`).
    public var onlyJobs: Set<Int64>?
    /// Re-render from the stored attested output instead of asking the nodes again (`kiln regen --reuse-attested`).
    public var reuseAttested = false
    /// The lease owner written on each job this run takes.
    public var owner = "kiln-\(ProcessInfo.processInfo.processIdentifier)"
    /// Process jobs in this run; false (`kiln batch --no-work`): leave them to `kiln worker`s and only wait for
    /// the batch to drain before closing it.
    public var work = true
    /// How often a coordinator looks whether the workers have drained the batch.
    public var drainPoll: Duration = .milliseconds(500)
    /// Options with the defaults above.
    public init() {}
}

/// Seconds since `start`, for reports.
func seconds(since start: ContinuousClock.Instant) -> Double {
    (ContinuousClock.now - start).inSeconds
}
