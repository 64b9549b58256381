// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnPipeline

/// Options every pipeline command shares: kiln.yml, what a flag may override, and output.
struct PipelineOptions: ParsableArguments {
    @OptionGroup var config: ConfigOptions

    @Option(help: "Read events from this file instead of kiln.yml's (or KILN_EVENTS).")
    var events: String?

    @Option(help: "The store (SQLite file, or postgres://USER@HOST:PORT/DB) instead of kiln.yml's (or KILN_STORE).")
    var store: String?

    @Option(help: "The output folder instead of kiln.yml's (or KILN_OUT).")
    var out: String?

    @OptionGroup var output: OutputOptions

    /// kiln.yml, then `KILN_*`, then these flags (and `concurrency`, for commands that take it).
    func configuration(concurrency: Int? = nil) throws -> Configuration {
        try config.load(Configuration.Overrides(store: store, out: out, eventsFile: events, concurrency: concurrency))
    }

    /// What `kiln batch` and `kiln worker` start from: logging bootstrapped, the configuration resolved, the
    /// console, and the runner opened (with a loud warning when a test crash point is armed).
    func start(concurrency: Int?, longRunning: Bool = false) async throws -> (Configuration, Console, BatchRunner) {
        output.bootstrap()
        Allocator.keepRenderBuffers()
        let configuration = try self.configuration(concurrency: concurrency)
        let console = Console(format: output.format)
        if CrashPoint.isArmed { console.warn("\(CrashPoint.variable) is set: this run will kill itself (tests only)") }
        return (configuration, console, try await runner(configuration, longRunning: longRunning))
    }

    /// The batch runner over `configuration`; `--events` replaces kiln.yml's source.
    func runner(_ configuration: Configuration, longRunning: Bool = false) async throws -> BatchRunner {
        try await BatchRunner.open(configuration, eventsFile: events, longRunning: longRunning)
    }
}
