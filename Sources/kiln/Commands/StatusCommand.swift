// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnCore
import KilnPipeline
import KilnStore

struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract:
            "The store at a glance: batches, jobs by state, workers seen and the leases they hold, pushes to IPFS providers.",
        discussion: """
            A worker is 'alive' when its heartbeat (every 2 s) is younger than the lease period \
            (kiln.yml leaseSeconds, default 600 s; KILN_LEASE_SECONDS). Reads only: safe while batches and workers run.
            """
    )

    @OptionGroup var options: PipelineOptions

    func run() async throws {
        options.output.bootstrap()
        let configuration = try options.configuration()
        let store = try await configuration.openStore()
        // A report for people unless JSON is asked for (like the demo's table), whatever stdout is.
        let format = options.output.logFormat ?? .human
        let console = Console(format: format)
        let now = Date().timeIntervalSince1970
        let counts = try await store.jobCounts()
        let open = try await store.currentBatch()
        let publications = try await store.publications(batch: nil)
        let lastBatch = publications.map(\.batch).max()
        let workers = try await store.workers()
        let leases = try await store.leases()
        let failed = try await store.jobs(status: .failed).suffix(5)
        let pushes = try await store.pushes()
        func alive(_ worker: WorkerRecord) -> Bool { worker.isAlive(at: now, leaseSeconds: configuration.leaseSeconds) }
        if format == .json {
            console.emit([
                "event": "status", "store": .string(store.location),
                "openBatch": open.map { .number($0) } ?? .null,
                "lastPublishedBatch": lastBatch.map { .number($0) } ?? .null,
                "publications": .number(publications.count),
                "jobs": .object(
                    Dictionary(uniqueKeysWithValues: JobStatus.allCases.map { ($0.rawValue, .number(counts[$0] ?? 0)) })
                ),
                "workers": .array(
                    workers.map { worker in
                        .object([
                            "name": .string(worker.name), "host": .string(worker.host), "state": .string(worker.state),
                            "alive": .bool(alive(worker)), "jobs": .number(worker.jobs),
                            "secondsSinceSeen": .decimal((now - worker.seen).rounded()),
                            "leases": .array(leases.filter { $0.owner == worker.name }.map { .number($0.jobId) }),
                        ])
                    }
                ),
                "leases": .array(
                    leases.map {
                        .object([
                            "job": .number($0.jobId), "token": .string($0.token.description),
                            "owner": .string($0.owner),
                            "secondsLeft": .decimal(($0.until - now).rounded()),
                        ])
                    }
                ),
                "lastErrors": .array(failed.map { .string("job \($0.id) \($0.token): \($0.lastError ?? "")") }),
                "ipfs": .array(
                    pushes.map { push in
                        .object([
                            "batch": .number(push.batch), "target": .string(push.target), "root": .string(push.root),
                            "status": .string(push.status.rawValue), "attempts": .number(push.attempts),
                            "requestId": push.requestId.map { .string($0) } ?? .null,
                            "lastError": push.lastError.map { .string($0) } ?? .null,
                            "secondsSinceUpdate": .decimal((now - push.updated).rounded()),
                        ])
                    }
                ),
            ])
            return
        }
        print("store     \(store.location)")
        print(
            "batches   "
                + (open.map { "batch \($0) open" } ?? "none open")
                + (lastBatch.map { "; last published: batch \($0)" } ?? "") + "; \(publications.count) publication(s)"
        )
        print(
            "jobs      "
                + JobStatus.allCases.map { "\($0.rawValue) \(counts[$0] ?? 0)" }.joined(separator: ", ")
        )
        if workers.isEmpty {
            print("workers   none seen")
        } else {
            print("workers")
            for worker in workers {
                let held = leases.filter { $0.owner == worker.name }.map { "\($0.jobId)" }
                print(
                    "  \(worker.name)  \(alive(worker) ? worker.state : "gone (\(worker.state))")  seen \(Int(now - worker.seen)) s ago  "
                        + "\(worker.jobs) job(s)" + (held.isEmpty ? "" : "  leases: " + held.joined(separator: ", "))
                )
            }
        }
        let orphans = leases.filter { lease in !workers.contains { $0.name == lease.owner && alive($0) } }
        for lease in orphans {
            let left = Int(lease.until - now)
            print(
                "  lease of job \(lease.jobId) \(lease.token) by \(lease.owner): "
                    + (left > 0 ? "\(left) s left" : "expired \(-left) s ago (the next worker takes it over)")
            )
        }
        for job in failed { print("failed    job \(job.id) \(job.token): \(job.lastError ?? "")") }
        if pushes.isEmpty {
            print("ipfs      no pushes to IPFS providers (publish.ipfs in kiln.yml)")
        } else {
            let confirmed = pushes.filter(\.status.confirmed).count
            print("ipfs      \(confirmed) of \(pushes.count) push(es) confirmed")
            for push in pushes where !push.status.confirmed || push.batch == pushes.map(\.batch).max() {
                print(
                    "  batch \(push.batch) → \(push.target): \(push.status.rawValue) after \(push.attempts) attempt(s)"
                        + (push.lastError.map { "; last error: \($0)" } ?? "")
                )
            }
        }
    }
}
