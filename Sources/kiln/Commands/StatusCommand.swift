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
        let status = try await StoreStatus.read(from: store, leaseSeconds: configuration.leaseSeconds)
        if format == .json {
            guard case .object(var fields) = try JSONValue.parse(bytes: Array(try JSONEncoder().encode(status))) else {
                throw CLIError("the status did not encode as an object")
            }
            fields["event"] = "status"
            Console(format: format).emit(.object(fields))
            return
        }
        print("store     \(status.store)")
        print(
            "batches   "
                + (status.openBatch.map { "batch \($0) open" } ?? "none open")
                + (status.lastPublishedBatch.map { "; last published: batch \($0)" } ?? "")
                + "; \(status.publications) publication(s)"
        )
        print(
            "jobs      "
                + JobStatus.allCases.map { "\($0.rawValue) \(status.jobs[$0.rawValue] ?? 0)" }.joined(separator: ", ")
        )
        if status.workers.isEmpty {
            print("workers   none seen")
        } else {
            print("workers")
            for worker in status.workers {
                print(
                    "  \(worker.name)  \(worker.alive ? worker.state : "gone (\(worker.state))")  seen \(Int(worker.secondsSinceSeen)) s ago  "
                        + "\(worker.jobs) job(s)"
                        + (worker.leases.isEmpty
                            ? "" : "  leases: " + worker.leases.map(String.init).joined(separator: ", "))
                )
            }
        }
        for lease in status.orphanLeases {
            let left = Int(lease.secondsLeft)
            print(
                "  lease of job \(lease.job) \(lease.token) by \(lease.owner): "
                    + (left > 0 ? "\(left) s left" : "expired \(-left) s ago (the next worker takes it over)")
            )
        }
        for failure in status.lastFailures { print("failed    job \(failure.job) \(failure.token): \(failure.error)") }
        if status.ipfs.isEmpty {
            print("ipfs      no pushes to IPFS providers (publish.ipfs in kiln.yml)")
        } else {
            let confirmed = status.ipfs.filter(\.status.confirmed).count
            print("ipfs      \(confirmed) of \(status.ipfs.count) push(es) confirmed")
            let latest = status.ipfs.map(\.batch).max()
            for push in status.ipfs where !push.status.confirmed || push.batch == latest {
                print(
                    "  batch \(push.batch) → \(push.target): \(push.status.rawValue) after \(push.attempts) attempt(s)"
                        + (push.lastError.map { "; last error: \($0)" } ?? "")
                )
            }
        }
    }
}
