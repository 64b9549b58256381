// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnAVS
import KilnCore

struct VerifyAttestationCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-attestation",
        abstract:
            "Check an attestation bundle offline: digests, signatures, stake table, quorum, equivocation evidence."
    )

    @Argument(help: "The bundle (OUT.attestation.json).") var bundle: String
    @Option(help: "Also check that this file is the accepted output.") var output: String?

    func run() throws {
        let data = try readInputFile(bundle)
        let json: JSONValue
        do { json = try JSONValue.parse(bytes: data) } catch { throw CLIError("\(bundle): \(error.message)") }
        let file = try output.map { try readInputFile($0, limit: 256 << 20) }
        let result = try AttestationBundle.verify(json, output: file)
        for line in result.lines { print(line) }
        if !result.ok { throw ExitCode(1) }
        print("\(bundle): verified")
    }
}
