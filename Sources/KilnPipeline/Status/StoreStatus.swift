// Kiln — Apache-2.0. See LICENSE.

public import Foundation
internal import KilnCore
public import KilnStore

/// The store at a glance, as values: batches, jobs by state, workers (alive or gone, by the one liveness rule),
/// leases and the ones no live worker holds, the last failures, and every push to an IPFS provider. `kiln status`
/// renders it for people, and as JSON from its `Codable` form (absent values are `null`).
public struct StoreStatus: Sendable, Encodable {
    /// A worker as last seen.
    public struct Worker: Sendable, Encodable {
        public var name: String
        public var host: String
        public var state: String
        /// Alive by ``WorkerRecord/isAlive(at:leaseSeconds:)``.
        public var alive: Bool
        public var jobs: Int
        public var secondsSinceSeen: Double
        /// The jobs it holds leases on.
        public var leases: [Int64]
    }

    /// A leased job.
    public struct Lease: Sendable, Encodable {
        public var job: Int64
        public var token: String
        public var owner: String
        /// Negative: expired that long ago (the next worker takes it over).
        public var secondsLeft: Double
    }

    /// A failed job.
    public struct Failure: Sendable, Encodable {
        public var job: Int64
        public var token: String
        public var error: String
    }

    /// A push of a batch to an IPFS provider.
    public struct Push: Sendable, Encodable {
        public var batch: Int
        public var target: String
        public var root: String
        public var status: IPFSPush.Status
        public var attempts: Int
        public var requestId: String?
        public var lastError: String?
        public var secondsSinceUpdate: Double

        public func encode(to encoder: any Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(batch, forKey: .batch)
            try container.encode(target, forKey: .target)
            try container.encode(root, forKey: .root)
            try container.encode(status.rawValue, forKey: .status)
            try container.encode(attempts, forKey: .attempts)
            try container.encode(requestId, forKey: .requestId)
            try container.encode(lastError, forKey: .lastError)
            try container.encode(secondsSinceUpdate, forKey: .secondsSinceUpdate)
        }

        enum CodingKeys: String, CodingKey {
            case batch, target, root, status, attempts, requestId, lastError, secondsSinceUpdate
        }
    }

    /// Where the store is.
    public var store: String
    /// The open batch, if any.
    public var openBatch: Int?
    /// The last batch that published something.
    public var lastPublishedBatch: Int?
    /// Publications in all.
    public var publications: Int
    /// Jobs by status (every status, zero included).
    public var jobs: [String: Int]
    /// Every worker seen, most recently seen first.
    public var workers: [Worker]
    /// Every leased job, oldest first.
    public var leases: [Lease]
    /// The leases no live worker holds (a killed run's: reclaimed by the next batch or taken over at expiry).
    public var orphanLeases: [Lease]
    /// The last five failed jobs.
    public var lastFailures: [Failure]
    /// Every push, by batch then target.
    public var ipfs: [Push]
    /// How the coordinator's last run, and its last clean run, ended.
    public var runs: RunHistory

    /// Reads the status of `store`; `leaseSeconds` is the configuration's lease period, `now` seconds since 1970.
    /// Reads only: safe while batches and workers run.
    public static func read(
        from store: any Store,
        leaseSeconds: Double,
        now: Double = Date().timeIntervalSince1970
    ) async throws -> StoreStatus {
        let counts = try await store.jobCounts()
        let published = try await store.publishedTotals()
        let records = try await store.workers()
        let leases = try await store.leases().map {
            Lease(job: $0.jobId, token: $0.token.description, owner: $0.owner, secondsLeft: ($0.until - now).rounded())
        }
        let alive = Set(records.filter { $0.isAlive(at: now, leaseSeconds: leaseSeconds) }.map(\.name))
        return StoreStatus(
            store: store.location,
            openBatch: try await store.currentBatch(),
            lastPublishedBatch: published.lastBatch,
            publications: published.publications,
            jobs: Dictionary(uniqueKeysWithValues: JobStatus.allCases.map { ($0.rawValue, counts[$0] ?? 0) }),
            workers: records.map { worker in
                Worker(
                    name: worker.name,
                    host: worker.host,
                    state: worker.state,
                    alive: alive.contains(worker.name),
                    jobs: worker.jobs,
                    secondsSinceSeen: (now - worker.seen).rounded(),
                    leases: leases.filter { $0.owner == worker.name }.map(\.job)
                )
            },
            leases: leases,
            orphanLeases: leases.filter { !alive.contains($0.owner) },
            lastFailures: try await store.jobs(status: .failed).suffix(5).map {
                Failure(job: $0.id, token: $0.token.description, error: $0.lastError ?? "")
            },
            ipfs: try await store.pushes().map {
                Push(
                    batch: $0.batch,
                    target: $0.target,
                    root: $0.root,
                    status: $0.status,
                    attempts: $0.attempts,
                    requestId: $0.requestId,
                    lastError: $0.lastError,
                    secondsSinceUpdate: (now - $0.updated).rounded()
                )
            },
            runs: try await store.runs()
        )
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(store, forKey: .store)
        try container.encode(openBatch, forKey: .openBatch)
        try container.encode(lastPublishedBatch, forKey: .lastPublishedBatch)
        try container.encode(publications, forKey: .publications)
        try container.encode(jobs, forKey: .jobs)
        try container.encode(workers, forKey: .workers)
        try container.encode(leases, forKey: .leases)
        try container.encode(orphanLeases, forKey: .orphanLeases)
        try container.encode(lastFailures, forKey: .lastFailures)
        try container.encode(ipfs, forKey: .ipfs)
        try container.encode(runs.last, forKey: .lastRun)
        try container.encode(runs.lastClean, forKey: .lastCleanRun)
    }

    enum CodingKeys: String, CodingKey {
        case store, openBatch, lastPublishedBatch, publications, jobs, workers, leases, orphanLeases, lastFailures, ipfs
        case lastRun, lastCleanRun
    }
}
