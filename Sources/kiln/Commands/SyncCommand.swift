// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnPipeline
import KilnStore

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync",
        abstract: "Read new logs, fold each touched token's state, and queue a job for every changed token."
    )

    @OptionGroup var options: PipelineOptions

    func run() async throws {
        options.output.bootstrap()
        let configuration = try options.configuration()
        let console = Console(format: options.output.format)
        let runner = try await options.runner(configuration)
        guard let lock = try await runner.store.tryLock() else {
            console.say("another kiln batch is running on \(runner.store.location); nothing done", event: "locked")
            return
        }
        defer { withExtendedLifetime(lock) {} }
        let report = try await runner.sync()
        Reporter(console: console).synced(report)
        if !report.problems.isEmpty { throw ExitCode(1) }
    }
}
