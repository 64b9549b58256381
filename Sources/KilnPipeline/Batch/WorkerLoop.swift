// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import KilnStore
internal import Metrics
internal import Synchronization

/// What a `kiln worker` reports as it runs.
public enum WorkerEvent: Sendable {
    /// The worker started, under this lease-owner name.
    case started(name: String)
    /// One job of `batch` ended.
    case job(JobReport, batch: Int)
    /// A store call failed; the worker backs off and tries again.
    case problem(Problem)
    /// The worker finished its jobs in flight and stopped, having ended `jobs` jobs.
    case stopped(jobs: Int)
}

/// `kiln worker`: takes jobs of the open batch from a shared store, runs each (inference + quorum → render →
/// publish) with ``JobWorker`` exactly as `kiln batch` does, and sleeps with backoff when there is nothing to do.
/// It writes a heartbeat to the store every few seconds, so coordinators and `kiln status` see it, and renews its
/// leases with it: a job that runs longer than the lease period stays its own, while a killed worker's leases
/// expire.
public struct WorkerLoop: Sendable {
    /// The runner whose store, templates, operators and blockstore the jobs use.
    public let runner: BatchRunner
    /// Concurrency and the lease-owner name (`options.owner`).
    public var options: BatchOptions
    /// The shortest and longest sleep when there is nothing to do (doubling in between).
    public var backoff: (first: Duration, most: Duration) = (.milliseconds(200), .seconds(2))
    /// How often the heartbeat is written.
    public var heartbeat: Duration = .seconds(2)

    /// A worker over `runner`; `options.owner` should be unique (`host:pid`).
    public init(runner: BatchRunner, options: BatchOptions) {
        self.runner = runner
        self.options = options
    }

    /// Runs until `stopping()` turns true, then lets the jobs in flight end, marks itself stopped, and returns.
    public func run(stopping: @escaping @Sendable () -> Bool, progress: @escaping @Sendable (WorkerEvent) -> Void)
        async
    {
        let store = runner.store
        let started = Date().timeIntervalSince1970
        let shared = Shared(
            WorkerRecord(
                name: options.owner,
                host: ProcessInfo.processInfo.hostName,
                started: started,
                seen: started,
                state: "idle",
                jobs: 0
            )
        )
        let inFlight = InFlightJobs()
        @Sendable func beat(_ state: String? = nil) async {
            let current = shared.record.withLock { record in
                if let state { record.state = state }
                record.seen = Date().timeIntervalSince1970
                return record
            }
            do {
                try await store.heartbeat(current)
                // A live worker keeps the leases of the jobs it is working on: only a worker that stopped beating
                // loses them (and a lease it holds without knowing it expires).
                let held = inFlight.current
                let renewed = try await store.renewLeases(
                    owner: current.name,
                    jobs: held,
                    until: current.seen + runner.configuration.leaseSeconds
                )
                Counter(label: "kiln_worker_lease_renewals_total").increment(by: renewed)
                // A job in flight whose lease was not renewed is no longer this worker's (it expired and another
                // run took it): its work will not be published by this worker.
                if held.count > renewed {
                    Counter(label: "kiln_worker_leases_lost_total").increment(by: held.count - renewed)
                }
                Gauge(label: "kiln_worker_jobs_in_flight").record(held.count)
                Gauge(label: "kiln_worker_last_heartbeat_timestamp_seconds").record(current.seen.rounded())
            } catch {
                progress(.problem(Problem(.store, "heartbeat", error: error)))
            }
        }
        await beat()
        progress(.started(name: options.owner))
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                while !shared.finished.withLock({ $0 }) {
                    try? await Task.sleep(for: heartbeat)
                    if !shared.finished.withLock({ $0 }) { await beat() }
                }
            }
            group.addTask {
                var delay = backoff.first
                while !stopping() {
                    var ran = 0
                    do {
                        if let batch = try await store.currentBatch() {
                            shared.record.withLock { $0.state = "running" }
                            let worker = runner.jobWorker(batch: batch, options: options)
                            var loop = JobLoop(
                                store: store,
                                worker: worker,
                                options: options,
                                leaseSeconds: runner.configuration.leaseSeconds
                            )
                            loop.inFlight = inFlight
                            let problems = await loop.run(expected: 0, stopping: stopping) { report, _, _ in
                                ran += 1
                                shared.record.withLock { $0.jobs += 1 }
                                progress(.job(report, batch: batch))
                            }
                            for problem in problems { progress(.problem(problem)) }
                        }
                    } catch {
                        progress(.problem(Problem(.store, nil, error: error)))
                    }
                    if ran > 0 {
                        delay = backoff.first
                        continue
                    }
                    shared.record.withLock { $0.state = "idle" }
                    try? await Task.sleep(for: delay)
                    delay = min(delay * 2, backoff.most)
                }
                shared.finished.withLock { $0 = true }
            }
        }
        await beat("stopped")
        progress(.stopped(jobs: shared.record.withLock { $0.jobs }))
    }
}

/// A worker's record and whether its job loop ended, shared by its heartbeat task and its job loop.
private final class Shared: Sendable {
    let record: Mutex<WorkerRecord>
    let finished = Mutex(false)
    init(_ record: WorkerRecord) { self.record = Mutex(record) }
}
