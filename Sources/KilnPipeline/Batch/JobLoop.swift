// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import KilnStore
internal import Synchronization

/// The second stage of a batch: leases runnable jobs from the store, at most `concurrency` at once, and hands
/// each to a ``JobWorker`` (inference + quorum → render → publish). A job is leased before work, so two runs
/// never do the same job; a killed run's leases expire and are taken again.
struct JobLoop: Sendable {
    let store: any Store
    let worker: JobWorker
    let options: BatchOptions
    let leaseSeconds: Double
    /// The jobs being worked on now, kept for a worker's heartbeat (which renews exactly their leases).
    var inFlight: InFlightJobs?

    /// Runs jobs until none is left (or `options.maxJobs` ran), reporting each as it ends.
    /// - Returns: the problems met while leasing (a failing store); job outcomes go to `report`.
    /// A job tried in this batch is not leased again by it (a no-quorum job waits for the next batch).
    /// - Parameter stopping: checked before each lease; once true, no new job is taken and the jobs in flight end.
    func run(
        expected: Int,
        stopping: () -> Bool = { false },
        report: (JobReport, _ done: Int, _ total: Int) -> Void
    ) async -> [Problem] {
        var problems: [Problem] = []
        let concurrency = max(1, options.concurrency)
        var done = 0
        await withTaskGroup(of: JobReport.self) { group in
            var inFlight = 0
            var leasedTotal = 0
            var exhausted = false
            func refill() async {
                while !exhausted && inFlight < concurrency {
                    let room = min(concurrency - inFlight, (options.maxJobs ?? .max) - leasedTotal)
                    guard room > 0, !stopping() else {
                        exhausted = true
                        return
                    }
                    let jobs: [Job]
                    do {
                        jobs = try await store.lease(
                            owner: options.owner,
                            limit: room,
                            seconds: leaseSeconds,
                            now: Date().timeIntervalSince1970,
                            batch: worker.batch,
                            only: options.onlyJobs.map { Array($0) }
                        )
                    } catch {
                        problems.append(Problem(.store, nil, error: error))
                        exhausted = true
                        return
                    }
                    if jobs.isEmpty {
                        exhausted = true
                        return
                    }
                    CrashPoint.afterLease.reached()
                    for job in jobs {
                        leasedTotal += 1
                        inFlight += 1
                        self.inFlight?.add(job.id)
                        group.addTask { await worker.process(job) }
                    }
                }
            }
            await refill()
            while let finished = await group.next() {
                inFlight -= 1
                self.inFlight?.remove(finished.jobId)
                done += 1
                report(finished, done, max(expected, done))
                await refill()
            }
        }
        return problems
    }
}

/// The ids of the jobs a worker is working on, shared by its job loop and its heartbeat.
final class InFlightJobs: Sendable {
    private let ids = Mutex<Set<Int64>>([])
    func add(_ id: Int64) { ids.withLock { _ = $0.insert(id) } }
    func remove(_ id: Int64) { ids.withLock { _ = $0.remove(id) } }
    var current: [Int64] { ids.withLock { $0.sorted() } }
}
