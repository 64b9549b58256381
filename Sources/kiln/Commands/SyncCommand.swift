// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnPipeline

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
        guard let lock = try BatchLock.acquire(store: configuration.store) else {
            console.say("another kiln batch is running on \(configuration.store); nothing done", event: "locked")
            return
        }
        defer { withExtendedLifetime(lock) {} }
        let report = try await options.runner(configuration).sync()
        Reporter(console: console).synced(report)
        if !report.problems.isEmpty { throw ExitCode(1) }
    }
}
