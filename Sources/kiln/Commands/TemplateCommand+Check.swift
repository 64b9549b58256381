// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import BigInt
import Foundation
import KilnContent
import KilnCore
import KilnImage
import KilnTemplates

extension TemplateCommand {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check a template: structure, expression types, events, assets, layers, rules.",
            discussion: "Prints every problem as FILE:LINE:COL: message and exits 1, or a one-line summary and exits 0."
        )

        @Argument(help: "The template folder.")
        var folder: String

        @Option(
            help:
                "Also draw token ids 1…N and print how often each picked trait value comes up and what the rules leave."
        )
        var stats: Int?

        @Option(help: "The contract address used for --stats draws (pick() depends on it).")
        var contract = "0x0000000000000000000000000000000000000000"

        func run() throws {
            let template = try loadTemplate(folder)
            print(
                "\(folder): OK — '\(template.name)', \(template.width)×\(template.height), \(template.traits.count) traits, "
                    + "\(template.derived.count) derived, \(template.events.count) events, \(template.layers.count) layers"
                    + (template.inference.map { ", inference \($0.model)" } ?? "") + ", \(template.rules.count) rules"
            )
            guard let stats else { return }
            guard stats >= 1 && stats <= 1_000_000 else { throw ValidationError("--stats must be 1…1000000") }
            let address: Address
            do { address = try Address(hex: contract) } catch { throw ValidationError(error.message) }
            let result = try template.stats(count: stats, contract: address)
            for (trait, counts) in result.distributions {
                print("\(trait):")
                for (value, tokens) in counts {
                    print(
                        "  \(value.padding(toLength: 16, withPad: " ", startingAt: 0)) \(String(tokens).leftPadded(7))  \(percent(tokens, stats))"
                    )
                }
            }
            print("combinations of drawn traits seen: \(result.combinations)")
            let repeated = result.duplicates.reduce(0) { $0 + $1.count }
            print(
                "duplicates: \(result.duplicates.count) combinations drawn by more than one token (\(repeated) tokens)"
            )
            for group in result.duplicates.prefix(10) {
                print(
                    "  tokens \(group.prefix(8).map { "#\($0)" }.joined(separator: ", "))\(group.count > 8 ? ", …" : "")"
                )
            }
            if result.duplicates.count > 10 { print("  … and \(result.duplicates.count - 10) more") }
            for (rule, tokens) in result.violations {
                print(
                    "rule '\(rule)' (\(rule.location)): broken by \(tokens) of \(stats) tokens (\(percent(tokens, stats)))"
                )
            }
        }
    }
}
