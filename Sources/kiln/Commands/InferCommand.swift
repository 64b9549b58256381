// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import BigInt
import Foundation
import KilnAVS
import KilnCore
import KilnInference
import KilnPipeline
import KilnTemplates

struct InferCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer",
        abstract:
            "Run one inference round for a token with quorum, and write the accepted output and its attestation bundle.",
        discussion: "Exit status: 0 quorum reached, 3 quorum not reached, 1 other failures."
    )

    @Option(help: "The template folder.") var template: String
    @Option(help: "The token's traits as JSON.") var state: String
    @Option(help: "The operators file (operators.yml).") var operators: String
    @Option(help: "The token id.") var tokenId = "1"
    @Option(help: "The token's contract.") var contract = "0x0000000000000000000000000000000000000000"
    @Option(help: "The reference block for stakes and signatures.") var referenceBlock: UInt64 = 0
    @Option(help: "Seconds to wait for each node.") var timeout = 20
    @Option(
        name: [.short, .customLong("out")],
        help: "Where to write the accepted output (OUT.attestation.json beside it)."
    ) var output: String

    func run() async throws {
        let loaded = try loadTemplate(template)
        guard let id = BigUInt(tokenId, radix: 10) else { throw ValidationError("--token-id must be a whole number") }
        let address: Address
        do { address = try Address(hex: contract) } catch { throw ValidationError(error.message) }
        guard let inference = loaded.inference else { throw CLIError("\(template) has no 'inference:' section") }
        let token = TokenRef(contract: address, id: id)
        let data = try readInputFile(state, limit: 1 << 20)
        let full = try loaded.derive(
            try loaded.state(fromJSON: try JSONValue.parse(bytes: Array(data)), source: state),
            token: token
        )
        guard let (input, inputHash) = try loaded.inferenceInput(state: full, token: token) else {
            throw CLIError("\(template): this state asks for no inference (its 'inference:' section is off for it)")
        }
        let jobId = inferenceJobId(contract: address, tokenId: id, model: inference.model, inputHash: inputHash)
        let table = try await FileOperatorRegistry(path: operators).stakeTable(at: referenceBlock)
        var round = QuorumRound()
        round.timeout = .seconds(timeout)
        let report = await round.run(
            JobRequest(jobId: jobId, model: inference.model, input: input, referenceBlock: referenceBlock),
            table: table
        )
        print("job \(jobId.hex)  model \(inference.model)  input \(inputHash.hex)")
        print(report.summary)
        let bundlePath = (output.hasSuffix(".png") ? String(output.dropLast(4)) : output) + ".attestation.json"
        try AtomicFile.write(try AttestationBundle.json(report).canonicalBytes(), to: bundlePath)
        print("\(bundlePath): attestation bundle written")
        guard let accepted = report.accepted else { throw ExitCode(3) }
        try AtomicFile.write(accepted.output, to: output)
        print("\(output): accepted output written")
    }
}
