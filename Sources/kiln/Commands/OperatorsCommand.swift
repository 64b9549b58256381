// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import BigInt
import KilnAVS
import KilnChain
import KilnCore
import KilnInference
import KilnPipeline

struct OperatorsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operators",
        abstract: "Show the registry: operators, stake, and whether each node answers now.",
        discussion: """
            Reads --operators FILE, or kiln.yml's operators (a file, or an on-chain registry read at --block, by \
            default the chain's head).

            With --bundle (repeatable), each operator's line also counts the misbehaviour those attestation bundles \
            prove against it — equivocation (two signed outputs for one job) and false agreement (agreement signed \
            to a canonical output outside tolerance of its own commit) — each re-proven from the signatures (and, \
            for false agreement, the committed outputs in --outputs).
            """
    )

    @Option(help: "The operators file (operators.yml); default: kiln.yml's operators.") var operators: String?
    @OptionGroup var config: ConfigOptions
    @Option(help: "The block to read an on-chain registry at (default: the head).") var block: UInt64?
    @Option(help: "An attestation bundle whose evidence to show (repeatable).") var bundle: [String] = []
    @Option(help: "A folder of committed outputs for --bundle (as kiln infer writes them).") var outputs: String?

    func run() async throws {
        let registry: any OperatorRegistry
        var at = block ?? 0
        if let operators {
            registry = try FileOperatorRegistry(path: operators)
        } else {
            let configuration = try config.load()
            registry = try configuration.operatorRegistry()
            if block == nil, configuration.chainOperators != nil, let url = configuration.chainRPC {
                do { at = try await EthereumRPC(url: url).blockNumber() } catch {
                    throw CLIError("\(url): \(error.message)", cause: error)
                }
            }
        }
        let table = try await registry.stakeTable(at: at)
        let proven = try provenEvidence()
        let rule =
            table.thresholdWeight.map { "threshold weight \($0) of \(table.totalStake) at block \(at)" }
            ?? "threshold \(Double(table.thresholdBps) / 100) % of \(table.totalStake) wei"
        print("\(rule); domain chain \(table.domain.chainId.map(String.init) ?? "?")")
        for op in table.operators {
            var live = "no node in kiln.yml"
            if let endpoint = op.endpoint {
                live = await NodeClient().health(endpoint, timeout: .seconds(3)) ?? "unreachable"
            }
            let share = table.totalStake > 0 ? Double(op.stake * 10_000 / table.totalStake) / 100 : 0
            let key = op.signingKey == op.address ? "" : "  signing key \(op.signingKey.checksummed)"
            var line =
                "\(op.address.checksummed)  \(String(format: "%6.2f", share)) %  \(op.endpoint?.description ?? "-")  \(live)\(key)"
            if !bundle.isEmpty {
                let found = proven[op.address] ?? []
                line += found.isEmpty ? "  no misbehaviour proven" : "  PROVEN: " + found.joined(separator: ", ")
            }
            print(line)
        }
    }

    /// Per operator, the misbehaviour the bundles prove ("equivocation in BUNDLE", "false agreement in BUNDLE").
    func provenEvidence() throws -> [Address: [String]] {
        let committed = try outputs.map(readOutputsFolder) ?? [:]
        var found: [Address: [String]] = [:]
        for path in bundle {
            let json: JSONValue
            do { json = try JSONValue.parse(bytes: try readInputFile(path)) } catch let error as FormatError {
                throw CLIError("\(path): \(error.message)", cause: error)
            }
            for check in try AttestationBundle.verify(json, outputs: committed).checks where check.result == .passed {
                guard let op = check.subject else { continue }
                switch check.kind {
                case .equivocation: found[op, default: []].append("equivocation in \(path)")
                case .falseAgreement: found[op, default: []].append("false agreement in \(path)")
                default: continue
                }
            }
        }
        return found
    }
}
