// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnAVS
import KilnChain
import KilnContent
import KilnCore
import KilnPipeline
import KilnStore

extension AttestationCommand {
    struct OnchainPayload: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "onchain-payload",
            abstract:
                "The ERC-1271 isValidSignature(digest, data) call that lets the on-chain registry check a bundle's quorum.",
            discussion: """
                BUNDLE is a bundle file (OUT.attestation.json from kiln infer), or a token CONTRACT:ID (or ID with one \
                contract) whose latest published bundle is read from kiln.yml's store and output. Prints JSON: the registry, the attested output, the EIP-712 digest, data = abi.encode(address[] operators \
                (ascending), bytes[] signatures, uint32 referenceBlock) and the full call data. For a bundle without an \
                accepted output it uses the output the most stake signed. With --rpc it also makes the eth_call and \
                says whether the registry accepts (exit 0) or rejects it (exit 1, with the registry's reason: \
                EigenLayer's ECDSAStakeRegistry reverts with a custom error such as InsufficientSignedStake(), an \
                unknown selector is shown raw); a registry that cannot be asked is an error (exit 2).
                """
        )

        @Argument(help: "An attestation bundle file, or CONTRACT:ID.") var bundle: String
        @OptionGroup var config: ConfigOptions
        @Option(help: "Only these operators' signatures (comma-separated addresses).") var only: String?
        @Option(help: "A JSON-RPC URL: call isValidSignature on the registry and report its answer.") var rpc: String?

        func run() async throws {
            let data = try await read()
            let json: JSONValue
            do { json = try JSONValue.parse(bytes: data) } catch {
                throw CLIError("\(bundle): \(error.message)", cause: error)
            }
            var subset: Set<Address>?
            if let only {
                var addresses: Set<Address> = []
                for part in only.split(separator: ",") {
                    guard let address = try? Address(hex: part.trimmingCharacters(in: .whitespaces)) else {
                        throw ValidationError("--only: '\(part)' is not an address")
                    }
                    addresses.insert(address)
                }
                subset = addresses
            }
            let payload: KilnAVS.OnchainPayload
            do { payload = try KilnAVS.OnchainPayload(bundle: json, only: subset) } catch {
                throw CLIError("\(bundle): \(error.message)", cause: error)
            }
            var output = payload.json
            var verdict: RegistryVerdict?
            if let rpc {
                // An RPC failure is an error (exit 2 and its cause); a rejection is the registry's answer (exit 1).
                do { verdict = try await payload.check(with: EthereumRPC(url: rpc)) } catch {
                    throw CLIError(error.message, cause: error, exitCode: 2)
                }
                if case .object(var fields) = output {
                    fields["registryAccepts"] = .bool(verdict?.accepted == true)
                    if case .rejected(let rejection)? = verdict {
                        fields["registryRejection"] = .string(rejection.description)
                    }
                    output = .object(fields)
                }
            }
            print(String(decoding: try output.canonicalBytes(), as: UTF8.self))
            if case .rejected(let rejection)? = verdict {
                FileHandle.standardError.write(
                    Data("rejected by the registry: \(rejection) (\(payload.registry.checksummed))\n".utf8)
                )
                throw ExitCode(1)
            }
        }

        /// The bundle's bytes: the file, or the token's published bundle.
        func read() async throws -> [UInt8] {
            if FileManager.default.fileExists(atPath: bundle) {
                guard let data = try? FileBytes.read(bundle, limit: 64 << 20) else {
                    throw CLIError("Unable to read '\(bundle)'")
                }
                return data
            }
            guard let configuration = try config.loadIfPresent() else {
                throw CLIError("'\(bundle)' is not a file, and there is no \(config.path) to look a token up in")
            }
            guard let token = configuration.token(bundle) else {
                throw ValidationError("BUNDLE must be a bundle file or CONTRACT:ID")
            }
            return try await configuration.attestationBundle(of: token)
        }
    }
}
