// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnAVS
import KilnChain
import KilnCore

struct VerifyAttestationCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify-attestation",
        abstract:
            "Check an attestation bundle offline: digests, signatures, agreement, quorum, evidence, and its stake table against a registry.",
        discussion: """
            The stake table in a bundle is the bundle's own claim. Give the registry to check it against: \
            --operators FILE (an operators.yml) or --rpc URL (the on-chain registry, the bundle's verifying \
            contract, read at the bundle's reference block). Without either the command says so and exits 1, \
            unless --trust-bundle-stakes is given.

            A bundle from a round under a tolerance policy needs the committed outputs (--outputs DIR, as \
            `kiln infer` writes them): every distance and the canonical choice are recomputed from them.

            Exit status: 0 verified, 1 any check failed.
            """
    )

    @Argument(help: "The bundle (OUT.attestation.json).") var bundle: String
    @Option(help: "Also check that this file is the accepted output.") var output: String?
    @Option(help: "A folder holding the committed outputs (any names; matched by keccak-256).") var outputs: String?
    @Option(help: "Check the stake table against this operators file.") var operators: String?
    @Option(help: "Check the stake table against the on-chain registry over this JSON-RPC URL.") var rpc: String?
    @Flag(help: "Accept the bundle's own stake table without checking it against a registry.")
    var trustBundleStakes = false

    func validate() throws {
        if operators != nil && rpc != nil { throw ValidationError("give --operators or --rpc, not both") }
    }

    func run() async throws {
        let data = try readInputFile(bundle)
        let json: JSONValue
        do { json = try JSONValue.parse(bytes: data) } catch {
            throw CLIError("\(bundle): \(error.message)", cause: error)
        }
        let file = try output.map { try readInputFile($0, limit: 256 << 20) }
        let committed = try outputs.map(readOutputsFolder) ?? [:]
        let result = try AttestationBundle.verify(json, output: file, outputs: committed)
        let stakes = try await checkStakes(json)
        for check in result.checks + stakes { print(check.line) }
        if !result.ok || stakes.contains(where: { $0.result == .failed }) { throw ExitCode(1) }
        print("\(bundle): verified")
    }

    /// The bundle's stake table against the registry the user named (or why it is not checked).
    func checkStakes(_ json: JSONValue) async throws -> [AttestationBundle.Check] {
        let context = try AttestationBundle.signingContext(json)
        let registry: any OperatorRegistry
        let source: String
        if let operators {
            registry = try FileOperatorRegistry(path: operators)
            source = operators
        } else if let rpc {
            guard let url = HTTPURL.normalized(rpc) else { throw ValidationError("--rpc must be an http(s) URL") }
            registry = ChainOperatorRegistry(
                rpc: EthereumRPC(url: url),
                registry: context.verifyingContract,
                chainId: context.chainId,
                endpoints: [:]
            )
            source = "the registry \(context.verifyingContract.checksummed) over \(url)"
        } else if trustBundleStakes {
            return [
                .init(
                    .stakes,
                    .noted,
                    "stakes: the bundle's own claim, not checked against a registry (--trust-bundle-stakes)"
                )
            ]
        } else {
            return [
                .init(
                    .stakes,
                    .failed,
                    "stakes: the stake table is the bundle's own claim; check it with --operators FILE or --rpc URL "
                        + "(or accept it with --trust-bundle-stakes)"
                )
            ]
        }
        return try await AttestationBundle.checkStakes(json, registry: registry, source: source)
    }
}
