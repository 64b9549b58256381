// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnPipeline

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "Re-derive a published token from its template, state and attested output, and compare byte for byte.",
        discussion: """
            TARGET is a metadata.json or token-directory CID (blocks from --car and --blocks, else kiln.yml's output), \
            or a token CONTRACT:ID (or just ID with one contract) looked up in kiln.yml's store. Prints \
            'verified: byte-identical' and exits 0, or lists exactly what differs and exits 1.
            """
    )

    @Argument(help: "A CID, or CONTRACT:ID.") var target: String
    @Option(help: "A CAR file with the published blocks (repeatable).") var car: [String] = []
    @Option(help: "A blockstore folder with the published blocks.") var blocks: String?
    @Option(
        help:
            "The chain's logs (eth_getLogs JSON lines) to fold the state from and compare (repeatable, in chain order)."
    )
    var events: [String] = []
    @Option(help: "An operators file to compare the bundle's stake table with.") var operators: String?
    @OptionGroup var config: ConfigOptions

    func run() async throws {
        var request = Verifier.Target(target, configuration: try config.loadIfPresent())
        request.cars = car
        request.blocks = blocks
        request.events = events
        request.operators = operators
        let (verifier, cid) = try await Verifier.open(request)
        let report = try await verifier.verify(cid)
        for check in report.checks { print((check.ok ? "ok    " : "DIFF  ") + check.text) }
        if report.ok {
            print("verified: byte-identical")
        } else {
            print("not verified: \(report.differences.count) difference(s)")
            throw ExitCode(1)
        }
    }
}
