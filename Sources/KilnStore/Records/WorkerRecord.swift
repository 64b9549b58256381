// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

/// A `kiln worker` (or `kiln batch`) as the store last saw it: it writes a heartbeat while it runs.
public struct WorkerRecord: Hashable, Sendable {
    /// The lease owner name: `host:pid:started`.
    public var name: String
    /// The host it runs on.
    public var host: String
    /// When it started and when it was last seen (seconds since 1970).
    public var started: Double
    public var seen: Double
    /// `running`, `idle`, `stopping` or `stopped`.
    public var state: String
    /// How many jobs it has ended (any outcome) since it started.
    public var jobs: Int

    /// A worker record.
    public init(name: String, host: String, started: Double, seen: Double, state: String, jobs: Int) {
        self.name = name
        self.host = host
        self.started = started
        self.seen = seen
        self.state = state
        self.jobs = jobs
    }

    /// Whether the worker is alive at `now` (seconds since 1970): it has not stopped and was seen within
    /// `leaseSeconds` (it beats every 2 s; a lease outlives a dead worker by at most a lease period). The one rule
    /// for liveness: a coordinator keeps live workers' leases by it and `kiln status` reports by it.
    public func isAlive(at now: Double, leaseSeconds: Double) -> Bool {
        state != "stopped" && now - seen < leaseSeconds
    }
}

/// A leased job, as `kiln status` shows it.
public struct LeaseRecord: Hashable, Sendable {
    /// The job.
    public var jobId: Int64
    /// Its token.
    public var token: TokenKey
    /// Who holds the lease, and until when (seconds since 1970).
    public var owner: String
    public var until: Double
}
