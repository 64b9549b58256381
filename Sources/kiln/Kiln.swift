// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import CKilnShims
import Foundation
import KilnCore

@main
struct Kiln: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kiln",
        abstract: "Keep the media of dynamic NFTs true to their on-chain state.",
        discussion: """
            Kiln watches token state on chain, asks inference nodes for the generative part of each picture, \
            accepts an answer only when restaked operators signed it, renders the image and publishes it \
            content-addressed. Start with 'kiln demo'; operators run 'kiln batch' from cron.
            """,
        version: KilnVersion.current,
        subcommands: [
            DemoCommand.self, InitCommand.self, SyncCommand.self, BatchCommand.self, WorkerCommand.self,
            StatusCommand.self, ConfigCommand.self,
            RegenCommand.self, VerifyCommand.self, StoreCommand.self,
            TemplateCommand.self, RenderCommand.self, BuildCommand.self, InferCommand.self,
            VerifyAttestationCommand.self,
            AttestationCommand.self, NodeCommand.self, ServeCommand.self,
            OperatorsCommand.self, ModelCommand.self, CIDCommand.self, AddCommand.self, ExportCommand.self,
            CARCommand.self, ImageCommand.self, KeyCommand.self,
            EventCommand.self,
        ]
    )

    /// Runs the command; with `--log-format json` a failure is one JSON log line too, so every line is JSON.
    static func main() async {
        do {
            var command = try parseAsRoot()
            let info = ProcessInfo.processInfo
            if command is any RendersTokens,
                let arenas = MallocArenas.limit(environment: info.environment, cores: info.activeProcessorCount)
            {
                _ = CKilnShims_limit_malloc_arenas(Int32(arenas))
            }
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            let message = fullMessage(for: error)
            if !message.isEmpty, OutputOptions.jsonRequested(in: CommandLine.arguments) {
                Console(format: .json).fail(message, error: error as? any CausedError)
                Foundation.exit((error as? CLIError)?.exitCode ?? exitCode(for: error).rawValue)
            }
            if error is any CausedError {
                // Kiln's own errors: the message, and any cause it does not quote (ArgumentParser prints only
                // the description).
                FileHandle.standardError.write(Data("Error: \(ErrorChain.human(error))\n".utf8))
                Foundation.exit((error as? CLIError)?.exitCode ?? EXIT_FAILURE)
            }
            exit(withError: error)
        }
    }
}

/// A command that renders and publishes tokens: glibc gives it one malloc arena per core (``MallocArenas``), which
/// keeps a batch's peak memory down at no cost in time. `kiln serve` keeps glibc's default: its many threads allocate
/// at once under load, and fewer arenas cost it 10–20 % of its rate.
protocol RendersTokens {}

extension BatchCommand: RendersTokens {}
extension WorkerCommand: RendersTokens {}
extension RegenCommand: RendersTokens {}
extension DemoCommand: RendersTokens {}
