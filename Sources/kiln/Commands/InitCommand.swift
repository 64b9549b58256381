// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnCore
import KilnPipeline

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Start a site: kiln.yml, a template with its layers, sample events and three local operators.",
        discussion: """
            Writes DIR/kiln.yml (SQLite store, the events file, every key commented), DIR/template/ (a dynamic \
            collection whose layers are drawn by Kiln, with an inference layer on the built-in model), \
            DIR/events.jsonl (recorded logs: mints, level-ups, a sale), DIR/keys/ (three operator keys, 0600) and \
            DIR/operators.yml (their stake and their nodes on loopback). Then prints the three commands that start \
            the operators' nodes, publish the first batch and serve it. A non-empty DIR is refused without --force.
            """
    )

    @Argument(help: "The site's folder.")
    var dir = "kiln-site"

    @Flag(help: "Write into DIR even when it is not empty (files of the same name are replaced).")
    var force = false

    @Option(help: "The loopback ports of the three local operators' nodes, comma-separated.")
    var nodePorts = "9101,9102,9103"

    func validate() throws {
        let ports = nodePorts.split(separator: ",").compactMap { Int($0) }
        guard ports.count == 3, ports.allSatisfy({ (1...65535).contains($0) }), Set(ports).count == 3 else {
            throw ValidationError("--node-ports takes three different ports, e.g. 9101,9102,9103")
        }
    }

    func run() throws {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
        guard entries.isEmpty || force else {
            throw CLIError("'\(dir)' is not empty: choose another folder, or pass --force to write into it")
        }
        let site = try SiteScaffold.write(into: dir, ports: nodePorts.split(separator: ",").compactMap { Int($0) })
        print(
            "created \(dir)/: kiln.yml, template/ (\(site.files.filter { $0.hasPrefix("template/") }.count) files), events.jsonl, operators.yml, keys/ (3 operators, 0600)"
        )
        print("")
        print("next, from this folder (kiln is ./kiln in a checkout):")
        let nodes = site.operators.map { "kiln node serve --key \(shellQuoted($0.keyFile)) --port \($0.port) &" }
        print("  " + nodes.joined(separator: " "))
        print("  kiln batch --config \(shellQuoted(site.config))")
        print("  kiln serve --config \(shellQuoted(site.config))")
        print("")
        print("the first starts the three local operators (stop them with: kill %1 %2 %3), the second publishes the")
        print(
            "first batch, the third shows it on http://127.0.0.1:8080/. To work on the look: kiln template preview \(site.template)"
        )
    }
}

/// `path` as a shell word: as it is when it holds only characters no shell treats specially, else single-quoted.
func shellQuoted(_ path: String) -> String {
    let plain = path.unicodeScalars.allSatisfy {
        CharacterSet.alphanumerics.contains($0) && $0.isASCII || "/._-+,:@%".unicodeScalars.contains($0)
    }
    return plain && !path.isEmpty ? path : "'" + path.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
