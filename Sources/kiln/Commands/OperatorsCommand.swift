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
            """
    )

    @Option(help: "The operators file (operators.yml); default: kiln.yml's operators.") var operators: String?
    @OptionGroup var config: ConfigOptions
    @Option(help: "The block to read an on-chain registry at (default: the head).") var block: UInt64?

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
                    throw CLIError("\(url): \(error.message)")
                }
            }
        }
        let table = try await registry.stakeTable(at: at)
        let rule =
            table.thresholdWeight.map { "threshold weight \($0) of \(table.totalStake) at block \(at)" }
            ?? "threshold \(Double(table.thresholdBps) / 100) % of \(table.totalStake) wei"
        print("\(rule); domain chain \(table.domain.chainId.map(String.init) ?? "?")")
        for op in table.operators {
            let live =
                op.endpoint.isEmpty
                ? "no node in kiln.yml" : await NodeClient().health(op.endpoint, timeout: .seconds(3)) ?? "unreachable"
            let share = table.totalStake > 0 ? Double(op.stake * 10_000 / table.totalStake) / 100 : 0
            let key = op.signingKey == op.address ? "" : "  signing key \(op.signingKey.checksummed)"
            print("\(op.address.checksummed)  \(String(format: "%6.2f", share)) %  \(op.endpoint)  \(live)\(key)")
        }
    }
}
