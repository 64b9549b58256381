import Foundation
import KilnAVS
import KilnPipeline
import KilnTemplates
import KilnTesting
import Testing

/// The reference pages name every key the readers accept, and nothing else; the annotated samples in examples/
/// load. A key added to (or removed from) a reader without its line in docs/reference fails here.
struct ReferenceDocsTests {
    static func page(_ name: String) throws -> String {
        try String(
            contentsOf: PythonBench.packageRoot.appendingPathComponent("docs/reference/\(name)"),
            encoding: .utf8
        )
    }

    /// The first column of the page's key tables: `| `path` | …`.
    static func documentedKeys(_ page: String) -> Set<String> {
        var keys: Set<String> = []
        for line in page.split(separator: "\n") where line.hasPrefix("| `") {
            let cell = line.dropFirst(3)
            if let end = cell.firstIndex(of: "`") { keys.insert(String(cell[..<end])) }
        }
        return keys
    }

    static func compare(_ page: String, documented: Set<String>, code: [String]) {
        let accepted = Set(code)
        #expect(accepted.count == code.count, "a key path is listed twice in the code")
        let undocumented = accepted.subtracting(documented).sorted()
        let stale = documented.subtracting(accepted).sorted()
        #expect(undocumented.isEmpty, "\(page) lacks a row for: \(undocumented.joined(separator: ", "))")
        #expect(stale.isEmpty, "\(page) documents keys the reader does not accept: \(stale.joined(separator: ", "))")
    }

    @Test func kilnYMLReferenceNamesEveryKeyAndVariable() throws {
        let page = try Self.page("kiln-yml.md")
        Self.compare("kiln-yml.md", documented: Self.documentedKeys(page), code: Configuration.Keys.paths)
        for (variable, _) in Configuration.environmentVariables {
            #expect(page.contains("`\(variable)`"), "kiln-yml.md does not name \(variable)")
        }
        #expect(page.contains("`KILN_LOG_LEVEL`"))
    }

    @Test func operatorsYMLReferenceNamesEveryKey() throws {
        Self.compare(
            "operators-yml.md",
            documented: Self.documentedKeys(try Self.page("operators-yml.md")),
            code: OperatorsFileKeys.paths
        )
    }

    @Test func templateYMLReferenceNamesEveryKey() throws {
        // Mappings keyed by the author's names have a row of their own as well as their items' keys.
        let parents = [
            "state.traits", "state.derive", "state.events", "background.gradient", "metadata.attributes",
            "layers[].mask",
        ]
        let code = TemplateKeys.paths.filter { !parents.contains($0) } + parents
        Self.compare("template-yml.md", documented: Self.documentedKeys(try Self.page("template-yml.md")), code: code)
    }

    @Test func theAnnotatedSamplesLoad() throws {
        let examples = PythonBench.packageRoot.appendingPathComponent("examples").path
        let configuration = try Configuration(path: examples + "/kiln.yml", environment: [:])
        #expect(configuration.chainId == 31337)
        #expect(configuration.contracts.count == 1)
        #expect(configuration.operatorsFile == examples + "/operators.yml")
        #expect(configuration.eventsFile == examples + "/forge-knights/events-1.jsonl")
        #expect(FileManager.default.fileExists(atPath: configuration.contracts[0].template + "/template.yml"))
        let registry = try FileOperatorRegistry(path: examples + "/operators.yml")
        #expect(registry.table.operators.count == 4)
        #expect(registry.table.thresholdBps == 6667)
        #expect(
            registry.table.operators.map { $0.stake.description } == [
                "40000000000000000000", "30000000000000000000", "20000000000000000000", "10000000000000000000",
            ]
        )
    }
}
