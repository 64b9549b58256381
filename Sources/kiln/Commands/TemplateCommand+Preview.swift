// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnCore
import Hummingbird
import KilnServer
import KilnYAML
import Logging

extension TemplateCommand {
    struct Preview: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Preview a template's whole collection in a browser, live: edit a file and the page updates.",
            discussion: """
                Serves a page with tokens 1…N (each at every state of --states, side by side), the rarity of every \
                pick() trait next to the weights written, the tokens whose drawn traits are all the same, and every \
                template error and rule failure at its template.yml:LINE:COL. The folder is watched: a change \
                re-renders only the tokens it touches, and the open page reloads by itself. The inference layer is \
                drawn by the built-in model (no nodes, no keys) or, for another model, a marked placeholder.

                --states is a YAML list of states; a list value gives one state per item:
                  - {level: [1, 5, 10]}
                """
        )

        @Argument(help: "The template folder.")
        var folder: String

        @Option(help: "Show tokens 1…N.")
        var count = 100

        @Option(help: "A YAML file listing the states to show side by side (default: the traits' defaults).")
        var states: String?

        @Option(help: "The port (0 picks a free one).")
        var port = 8090

        @Option(help: "The address to listen on.")
        var bind = "127.0.0.1"

        @Option(help: "The contract address (pick() draws depend on it).")
        var contract = "0x0000000000000000000000000000000000000000"

        @Flag(help: "Draw the inference layer as a placeholder even when its model is built in.")
        var placeholder = false

        func validate() throws {
            guard (1...100_000).contains(count) else { throw ValidationError("--count must be 1…100000") }
        }

        func run() async throws {
            let address: Address
            do { address = try Address(hex: contract) } catch { throw ValidationError(error.message) }
            let columns = try states.map(Self.readStates) ?? []
            let folder = (self.folder as NSString).standardizingPath
            guard FileManager.default.fileExists(atPath: folder) else {
                throw CLIError(
                    "'\(self.folder)' does not exist: give a template folder (kiln template new NAME makes one)"
                )
            }
            let preview = TemplatePreview(
                .init(
                    folder: folder,
                    count: count,
                    states: columns,
                    contract: address,
                    localModel: !placeholder
                )
            )
            preview.refresh()
            let first = preview.current
            for error in first.errors { FileHandle.standardError.write(Data("\(error)\n".utf8)) }
            let host = bind
            var logger = Logger(label: "kiln.preview")
            logger.logLevel = .warning
            let app = preview.application(host: host, port: port, logger: logger) { port in
                print("preview of \(folder): http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(port)/")
                print(
                    "watching \(folder) — edit template.yml or an asset and the page updates by itself (Ctrl-C stops)"
                )
                fflush(nil)
            }
            try await withThrowingTaskGroup { group in
                group.addTask { try await app.runService() }
                group.addTask {
                    await preview.watch()
                }
                try await group.next()
                group.cancelAll()
            }
        }

        /// The states file: a list whose items are mappings of trait: value, a list value expanding into one state
        /// per item (every combination when several traits have lists).
        static func readStates(_ path: String) throws -> [(label: String, traits: JSONValue, source: String)] {
            let data = try readInputFile(path, limit: 1 << 20)
            let node: YAMLNode
            do { node = try YAMLNode.parse(String(decoding: data, as: UTF8.self), file: path) } catch {
                throw CLIError(error.description, cause: error)
            }
            guard case .sequence(let items) = node.kind else {
                throw CLIError("\(node.location): the states file must be a list, e.g. - {level: [1, 5, 10]}")
            }
            var out: [(String, JSONValue, String)] = []
            for item in items {
                guard case .object(let members) = item.json else {
                    throw CLIError("\(item.location): each state must be a mapping of trait: value")
                }
                var expanded: [[(String, JSONValue)]] = [[]]
                for (name, value) in members.sorted(by: { $0.key < $1.key }) {
                    let values: [JSONValue] = if case .array(let list) = value { list } else { [value] }
                    expanded = expanded.flatMap { prefix in values.map { prefix + [(name, $0)] } }
                }
                for pairs in expanded {
                    let label = pairs.map { "\($0.0)=\($0.1.stringValue ?? ((try? $0.1.canonicalString()) ?? "?"))" }
                        .joined(separator: " ")
                    out.append(
                        (
                            label.isEmpty ? "defaults" : label, .object(Dictionary(uniqueKeysWithValues: pairs)),
                            item.location.description
                        )
                    )
                }
            }
            guard out.count <= 16 else { throw CLIError("\(path): \(out.count) states; show at most 16 side by side") }
            return out
        }
    }
}
