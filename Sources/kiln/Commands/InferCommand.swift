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
    @Option(help: "The token's chain id (templates read only the contract and the id).") var chainId: UInt64 = 31337
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
        let token = TokenKey(chainId: chainId, contract: address, id: id)
        let traits = try JSONValue.parse(bytes: try readInputFile(state, limit: 1 << 20))
        let job = try InferenceJob(
            template: loaded,
            traits: traits,
            source: state,
            token: token,
            referenceBlock: referenceBlock
        )
        let report = try await job.run(registry: try FileOperatorRegistry(path: operators), timeout: .seconds(timeout))
        print("job \(job.request.jobId.hex)  model \(job.request.model)  input \(job.inputHash.hex)")
        print(report.summary)
        let stem = output.hasSuffix(".png") ? String(output.dropLast(4)) : output
        let bundlePath = stem + ".attestation.json"
        if let agreement = report.agreement {
            // Every committed output, so that anyone can recompute the agreement: verify-attestation --outputs.
            let folder = stem + ".outputs"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            let outputs = report.committedOutputs
            for (hash, output) in outputs { try AtomicFile.write(output, to: "\(folder)/\(hash.hex).png") }
            print(
                "\(folder)/: \(outputs.count) distinct committed outputs of \(agreement.entries.count) operators written"
            )
        }
        try AtomicFile.write(try AttestationBundle.json(report).canonicalBytes(), to: bundlePath)
        print("\(bundlePath): attestation bundle written")
        guard let accepted = report.accepted else { throw ExitCode(3) }
        try AtomicFile.write(accepted.output, to: output)
        print("\(output): accepted output written")
    }
}
