// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import BigInt
import KilnCore
import KilnPipeline
import KilnStore

struct RegenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regen",
        abstract: "Re-run one token end to end now and print its new CIDs.",
        discussion:
            "Asks the nodes again (a new inference round) unless --reuse-attested re-renders from the stored attested output."
    )

    @Argument(help: "The token's contract.") var contract: String
    @Argument(help: "The token id.") var tokenId: String
    @OptionGroup var options: PipelineOptions
    @Flag(help: "Re-render from the stored attested output; no new inference round.") var reuseAttested = false

    func validate() throws {
        do { _ = try Address(hex: contract) } catch { throw ValidationError("CONTRACT: \(error.message)") }
        guard BigUInt(tokenId, radix: 10) != nil else { throw ValidationError("TOKEN_ID must be a whole number") }
    }

    func run() async throws {
        options.output.bootstrap()
        let configuration = try options.configuration()
        let runner = try await options.runner(configuration)
        guard let lock = try await runner.store.tryLock() else {
            throw CLIError("another kiln batch is running on \(runner.store.location); try again")
        }
        defer { withExtendedLifetime(lock) {} }
        let token = try TokenKey(chainId: configuration.chainId, contract: try Address(hex: contract), tokenId: tokenId)
        let reporter = Reporter(console: Console(format: options.output.format))
        let result = try await runner.regenerate(token, reuseAttested: reuseAttested) {
            reporter.handle($0)
        }
        if let publication = result.publication {
            reporter.console.say(
                "\(token): metadata ipfs://\(publication.metadata)  image ipfs://\(publication.image)  directory ipfs://\(publication.directory)",
                event: "regenerated"
            )
        }
        if result.summary.exitCode != 0 { throw ExitCode(result.summary.exitCode) }
    }
}
