// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnPipeline
import KilnServer
import Metrics
import Prometheus
import KilnStore
import Logging
import ServiceLifecycle
import Synchronization
import UnixSignals

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "A long-running worker: takes jobs of the open batch from a shared store and runs them.",
        discussion: """
            Each job runs exactly as in `kiln batch` (inference + quorum → render → publish), leased with FOR UPDATE \
            SKIP LOCKED so no two workers take one job; its new blocks go to the store with its publication. With \
            nothing to do the worker sleeps, backing off up to 2 s. SIGTERM or SIGINT: no new job is taken, the jobs \
            in flight end, and the worker exits 0; if they have not ended within --stop-grace seconds (a store or \
            node that does not answer), it exits 0 all the same and their leases expire, to be taken by another run. \
            Meant for a PostgreSQL store (store: postgres://…) shared by \
            several machines; on a SQLite store it works on the same machine only. `kiln batch --no-work` opens \
            and closes the batches.
            """
    )

    @OptionGroup var options: PipelineOptions

    @Option(help: "Jobs processed at once (default: kiln.yml's concurrency, or KILN_CONCURRENCY).")
    var concurrency: Int?

    @Option(help: "The name the worker's leases and heartbeat carry (default: worker@HOST:PID).")
    var name: String?

    @Option(
        help: "Seconds a stopping worker waits for its jobs in flight before it exits, leaving their leases to expire."
    )
    var stopGrace: Double = 10

    @Option(help: "Serve GET /metrics (Prometheus) on this port (0 picks a free one).")
    var metricsPort: Int?

    @Option(help: "The address --metrics-port listens on (0.0.0.0: every interface).")
    var metricsBind = "127.0.0.1"

    func validate() throws {
        if let concurrency, !(1...256).contains(concurrency) { throw ValidationError("--concurrency must be 1…256") }
        guard stopGrace.isFinite, stopGrace >= 0 else { throw ValidationError("--stop-grace must be seconds ≥ 0") }
    }

    /// A lease-owner name unique to this process: `ROLE@HOST:PID`.
    static func ownerName(role: String) -> String {
        "\(role)@\(ProcessInfo.processInfo.hostName):\(ProcessInfo.processInfo.processIdentifier)"
    }

    func run() async throws {
        // Jobs by outcome, quorum rounds, per-operator answer time, lease renewals and losses: swift-metrics into
        // one registry, served on --metrics-port.
        let registry = PrometheusCollectorRegistry()
        if metricsPort != nil { MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry)) }
        let (configuration, console, runner) = try await options.start(concurrency: concurrency, longRunning: true)
        if !runner.store.sharesBlocks {
            console.warn(
                "the store \(runner.store.location) is SQLite: workers must run on this machine (use a postgres:// store to spread them)"
            )
        }
        for problem in runner.templateProblems.values.map(\.description).sorted() {
            console.warn("problem: \(problem)")
        }
        var workerOptions = BatchOptions()
        workerOptions.concurrency = configuration.concurrency
        workerOptions.owner = name ?? Self.ownerName(role: "worker")
        let service = WorkerService(
            loop: WorkerLoop(runner: runner, options: workerOptions),
            reporter: Reporter(console: console),
            grace: .milliseconds(Int64((stopGrace * 1000).rounded()))
        )
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
            .init(service: service, successTerminationBehavior: .gracefullyShutdownGroup)
        ]
        if let metricsPort {
            let bind = metricsBind
            let endpoint = MetricsEndpoint.application(
                registry: registry,
                host: bind,
                port: metricsPort,
                logger: Logger(label: "kiln.worker.metrics")
            ) { port in console.say("metrics on http://\(bind):\(port)/metrics", event: "metrics-listening") }
            services.append(.init(service: endpoint))
        }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: Logger(label: "kiln.worker")
            )
        )
        try await group.run()
    }
}

/// The worker loop as a swift-service-lifecycle service: graceful shutdown stops taking jobs and lets those in
/// flight end.
///
/// A stop is bounded: the jobs in flight, or the store calls that end the loop, may wait on a database or node that
/// does not answer (postgres-nio's pool waits a minute before it gives up). Past `grace` the process exits at once,
/// its leases left to expire — exactly what a killed worker leaves, which every run already recovers from.
struct WorkerService: Service {
    let loop: WorkerLoop
    let reporter: Reporter
    let grace: Duration

    func run() async throws {
        let flag = StopFlag()
        let (reporter, grace) = (self.reporter, self.grace)
        await withGracefulShutdownHandler {
            await loop.run(stopping: { flag.isSet }) { reporter.worker($0) }
        } onGracefulShutdown: {
            flag.set()
            Task.detached {
                try? await Task.sleep(for: grace)
                reporter.stopGraceExpired(grace)
                exit(0)
            }
        }
    }
}

/// Set once, read from any task.
final class StopFlag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
