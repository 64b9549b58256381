// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnCore
import KilnPipeline
import KilnStore
import Metrics
import Prometheus

struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "The cron entry: sync, then process every queued job (inference + quorum → render → publish).",
        discussion: """
            One batch runs per store at a time: a second one exits 0 saying so (or waits, with --wait). Each batch \
            writes OUT/batch-<n>.car, OUT/batch-<n>-sheet.png and OUT/manifest.json. With `kiln worker`s on a \
            shared (PostgreSQL) store, it also waits until they have done every job of the batch before closing it; \
            --no-work leaves all the jobs to them. Exit status: 0 done, 1 some jobs \
            failed or input had problems, 3 some jobs lack quorum (they stay queued for the next run).
            """
    )

    @OptionGroup var options: PipelineOptions

    @Option(help: "Jobs processed at once (default: kiln.yml's concurrency, or KILN_CONCURRENCY).")
    var concurrency: Int?

    @Option(help: "Process at most this many jobs in this run.")
    var maxJobs: Int?

    @Flag(help: "Wait for a running batch to finish instead of exiting.")
    var wait = false

    @Flag(help: "Process no job here: open the batch, wait until `kiln worker`s have done its jobs, then close it.")
    var noWork = false

    func validate() throws {
        if let concurrency, !(1...256).contains(concurrency) { throw ValidationError("--concurrency must be 1…256") }
        if let maxJobs, maxJobs < 1 { throw ValidationError("--max-jobs must be at least 1") }
    }

    func run() async throws {
        // The run's metrics (jobs by outcome, quorum rounds, per-operator latency and failures, duration) go to
        // metrics.prom next to OUT at the end, which `kiln serve` appends to its /metrics.
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let started = ContinuousClock.now
        let (configuration, console, runner) = try await options.start(concurrency: concurrency)
        let lock: StoreLock
        if let taken = try await runner.store.tryLock() {
            lock = taken
        } else if wait {
            console.warn("waiting for the batch running on \(runner.store.location)…")
            lock = try await runner.store.waitForLock()
        } else {
            console.say(
                "another kiln batch is running on \(runner.store.location); exiting (use --wait to wait for it)",
                event: "locked"
            )
            return
        }
        defer { withExtendedLifetime(lock) {} }
        var batchOptions = BatchOptions()
        batchOptions.concurrency = configuration.concurrency
        batchOptions.maxJobs = maxJobs
        batchOptions.work = !noWork
        batchOptions.owner = WorkerCommand.ownerName(role: "batch")
        let reporter = Reporter(console: console)
        let summary = try await runner.syncAndRun(options: batchOptions) { reporter.handle($0) }
        // The last clean run comes from the store: a run that failed still says when the last one went through.
        if let clean = try? await runner.store.runs().lastClean {
            Gauge(label: "kiln_batch_last_success_timestamp_seconds").record(clean.finished.rounded())
        }
        Self.writeMetrics(registry, started: started, to: configuration.metricsFile, console: console)
        if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
    }

    /// Writes the run's metrics in Prometheus' text format (temp file + rename: a scrape never reads half a file).
    static func writeMetrics(
        _ registry: PrometheusCollectorRegistry,
        started: ContinuousClock.Instant,
        to path: String,
        console: Console
    ) {
        let elapsed = ContinuousClock.now - started
        Gauge(label: "kiln_batch_duration_seconds").record(
            Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        )
        Gauge(label: "kiln_batch_last_run_timestamp_seconds").record(Date().timeIntervalSince1970.rounded())
        // A run killed while writing this file left its temporary beside it, which no batch sweeps (the file is
        // next to the output folder, not in it): it goes now, under the same batch lock that file is written under.
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        where name.hasPrefix(".\(url.lastPathComponent).tmp-") {
            try? FileManager.default.removeItem(atPath: folder + "/" + name)
        }
        do { try AtomicFile.write(registry.emitToBuffer(), to: path) } catch {
            console.warn("unable to write the run's metrics to \(path): \(error)")
        }
    }
}
