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

            Usable as a Nagios-style check: exit status 0 when nothing needs a person, 1 (WARNING) for a lease a \
            gone worker left that no run took over within a lease period, a push that keeps failing, or a last run \
            that ended with failures; 2 (CRITICAL) when the store cannot be read, the events' node cannot be \
            reached or the store is more than --max-chain-lag blocks behind it, a push failed for good, or no run \
            ended cleanly within --max-run-age.
            """
    )

    @OptionGroup var options: PipelineOptions

    @Option(help: "CRITICAL when the last clean batch run (exit 0) ended longer ago than this many seconds.")
    var maxRunAge: Double?

    @Option(help: "CRITICAL when the store is more blocks behind the events' node (head − confirmations) than this.")
    var maxChainLag: UInt64 = 50

    func run() async throws {
        options.output.bootstrap()
        // A report for people unless JSON is asked for (like the demo's table), whatever stdout is.
        let format = options.output.logFormat ?? .human
        let configuration = try options.configuration()
        let store: any Store
        let status: StoreStatus
        do {
            store = try await configuration.openStore()
            status = try await StoreStatus.read(from: store, leaseSeconds: configuration.leaseSeconds)
        } catch {
            // The check's own verdict: a store that cannot be read needs a person.
            if format == .json {
                Console(format: format).emit(
                    .object(["event": "status", "health": .string("CRITICAL"), "error": .string("\(error)")])
                )
            } else {
                print("health    CRITICAL  the store cannot be read: \(error)")
            }
            throw ExitCode(2)
        }
        let health = StatusHealth.assess(
            status,
            chain: await StatusHealth.chain(of: configuration, store: store),
            leaseSeconds: configuration.leaseSeconds,
            thresholds: StatusHealth.Thresholds(maxRunAge: maxRunAge, maxChainLag: maxChainLag)
        )
        let exit = health.level == .ok ? nil : ExitCode(Int32(health.level.rawValue))
        if format == .json {
            guard case .object(var fields) = try JSONValue.parse(bytes: Array(try JSONEncoder().encode(status))),
                case let health = try JSONValue.parse(bytes: Array(try JSONEncoder().encode(health)))
            else {
                throw CLIError("the status did not encode as an object")
            }
            fields["event"] = "status"
            fields["health"] = health
            Console(format: format).emit(.object(fields))
            if let exit { throw exit }
            return
        }
        render(status)
        let now = Date().timeIntervalSince1970
        func describe(_ run: RunRecord) -> String {
            (run.batch.map { "batch \($0)" } ?? "nothing to do") + ", exit \(run.exitCode), "
                + "\(Int((now - run.finished).rounded())) s ago"
        }
        print(
            "runs      "
                + (status.runs.last.map { "last: \(describe($0))" } ?? "none recorded")
                + (status.runs.lastClean.map { $0 == status.runs.last ? "" : "; last clean: \(describe($0))" } ?? "")
        )
        if let lag = health.chainLag {
            print(
                "chain     head \(lag.head), read to \(lag.readTo.map(String.init) ?? "none"), \(lag.blocks) block(s) behind"
            )
        }
        print("health    \(health.level.name)")
        for finding in health.findings { print("  \(finding.level.name)  \(finding.check): \(finding.message)") }
        if let exit { throw exit }
    }

    private func render(_ status: StoreStatus) {
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
