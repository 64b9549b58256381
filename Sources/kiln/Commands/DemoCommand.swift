// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import BigInt
import Foundation
import KilnAVS
import KilnCore
import KilnCrypto
import KilnInference
import KilnPipeline
import KilnStore
import KilnYAML
import Logging
import Metrics
import Prometheus
import Synchronization

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract:
            "Run the whole pipeline on embedded defaults: 4 local operator nodes (one dishonest), recorded events, two batches.",
        discussion: """
            Creates ./kiln-demo/ (or --dir; a previous demo there is replaced, any other folder is refused), starts 4 \
            inference nodes in this process on free loopback ports (stakes 35/30/20/15) — the second signs a wrong output \
            for every job, so each round widens to the 4th — and runs two batches \
            of templates/forge-knights over examples/forge-knights/events-{1,2}.jsonl. Nothing leaves this machine.
            """
    )

    @Option(help: "The demo folder.") var dir = "kiln-demo"
    @OptionGroup var output: OutputOptions

    static let contract = try! Address(hex: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
    static let registry = try! Address(hex: "0x000000000000000000000000000000000000ab1e")
    static let marker = ".kiln-demo"

    func run() async throws {
        output.bootstrap()
        // Metrics as `kiln batch` keeps them (metrics.prom next to OUT, shown by `kiln serve`'s /metrics).
        let metrics = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: metrics))
        let started = ContinuousClock.now
        let console = Console(format: output.format)
        // The demo's own lines (nodes, the table) are for people, as before, unless --log-format json asks for
        // JSON explicitly: then each is one {"event":"demo",…} object. Progress follows the usual default.
        let lines = Console(format: output.logFormat ?? .human)
        func say(_ text: String) { lines.say(text, event: "demo") }
        let files = FileManager.default
        let root = try Self.checkout()
        let folder = (dir as NSString).standardizingPath
        if files.fileExists(atPath: folder) {
            let entries = (try? files.contentsOfDirectory(atPath: folder)) ?? []
            guard entries.isEmpty || entries.contains(Self.marker) else {
                throw CLIError("'\(folder)' exists and is not a Kiln demo folder: choose another with --dir")
            }
            try files.removeItem(atPath: folder)
        }
        try files.createDirectory(atPath: folder + "/keys", withIntermediateDirectories: true)
        try Data("kiln demo folder: safe to delete\n".utf8).write(to: URL(fileURLWithPath: folder + "/" + Self.marker))

        // Four operators with fresh keys (0600 files); the second (30 %) signs a wrong answer for every job, so
        // every round needs to widen beyond the fewest operators that could make a quorum.
        let stakes = ["35", "30", "20", "15"]
        var keys: [(PrivateKey, TestFault?)] = []
        for index in 0..<4 {
            let key = PrivateKey.random()
            try key.write(toFile: folder + "/keys/operator-\(index + 1).key")
            keys.append((key, index == 1 ? .wrongOutput : nil))
        }
        var logger = Logger(label: "kiln.demo.node")
        // The nodes only warn, unless a lower level was asked for (--log-level, KILN_LOG_LEVEL): a job answered
        // is not news to someone watching the demo's progress.
        logger.logLevel = min(.warning, output.requestedLevel ?? .warning)
        say("starting 4 operator nodes on loopback…")
        let nodes = try await LocalNodes.start(
            keys: keys,
            domain: .kiln(chainId: 31337, verifyingContract: Self.registry),
            logger: logger
        )
        defer { nodes.stop() }
        var operators: [JSONValue] = []
        for (node, stake) in zip(nodes.nodes, stakes) {
            operators.append([
                "address": .string(node.address.checksummed), "endpoint": .string(node.endpoint),
                "stake": .string(stake + "000000000000000000"),
            ])
        }
        let dishonest = nodes.nodes.filter { $0.fault != nil }.map {
            "\($0.address.checksummed) is dishonest (--test-fault \($0.fault!.rawValue))"
        }
        try AtomicFile.write(
            Array(
                try YAMLWriter.document(
                    [
                        "chainId": 31337, "verifyingContract": .string(Self.registry.checksummed), "thresholdBps": 6667,
                        "operators": .array(operators),
                    ],
                    comment: ["kiln demo: 4 local operators (stake in ETH, as wei)"] + dishonest
                ).utf8
            ),
            to: folder + "/operators.yml"
        )
        for node in nodes.nodes {
            say(
                "  \(node.address.checksummed)  \(node.endpoint)\(node.fault.map { "  (dishonest: \($0.rawValue))" } ?? "")"
            )
        }
        let config: JSONValue = [
            "chainId": 31337, "store": "data/kiln.sqlite", "out": "out",
            "events": ["file": .string("\(root)/examples/forge-knights/events-1.jsonl")],
            "contracts": [
                ["address": .string(Self.contract.checksummed), "template": .string("\(root)/templates/forge-knights")]
            ],
            "operators": ["file": "operators.yml"], "concurrency": 4, "nodeTimeout": 20,
        ]
        try AtomicFile.write(
            Array(try YAMLWriter.document(config, comment: ["kiln demo (every key: docs/reference/kiln-yml.md)"]).utf8),
            to: folder + "/kiln.yml"
        )
        // Embedded defaults, but for the node timeout: a loaded machine (a test run) may need more than 20 s.
        let configuration = try Configuration(
            path: folder + "/kiln.yml",
            environment: ProcessInfo.processInfo.environment.filter { $0.key == "KILN_NODE_TIMEOUT" }
        )
        let reporter = Reporter(console: console)

        var cars: [String] = [], sheets: [String] = []
        var quorum: [String: QuorumSummary] = [:]
        for (number, events) in ["events-1.jsonl", "events-2.jsonl"].enumerated() {
            say("\n== batch \(number + 1): \(events)")
            let runner = try await BatchRunner.open(
                configuration,
                eventsFile: "\(root)/examples/forge-knights/\(events)"
            )
            guard let lock = try await runner.store.tryLock() else {
                throw CLIError(
                    "another kiln process holds the demo's store \(configuration.store): wait for it, or use another --dir"
                )
            }
            let collected = QuorumLines()
            let summary = try await runner.syncAndRun(options: BatchOptions()) { event in
                if case .job(let report, _, _) = event, let summary = report.quorum {
                    collected.add(report.token.tokenId, summary)
                }
                reporter.handle(event)
            }
            withExtendedLifetime(lock) {}
            quorum.merge(collected.summaries) { _, new in new }
            if let car = summary.car { cars.append(car) }
            if let sheet = summary.sheet { sheets.append(sheet) }
            if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
        }

        // The table: every token, its state, its last quorum and its CIDs.
        let store = try await configuration.openStore()
        let tokens = try await store.tokens(chainId: 31337, contract: Self.contract)
        func cell(_ text: String, _ width: Int) -> String {
            text.count >= width
                ? String(text.prefix(width - 1)) + " " : text.padding(toLength: width, withPad: " ", startingAt: 0)
        }
        say(
            "\n" + cell("token", 7) + cell("level", 6) + cell("owner", 12) + cell("batch", 6) + cell("quorum", 26)
                + cell("image CID", 62) + "metadata CID"
        )
        for token in tokens {
            let id = token.tokenId
            guard let state = try await store.state(token, version: nil),
                let publication = try await store.latestPublication(token)
            else { continue }
            let level = state.json["level"]?.integerValue.map { String($0) } ?? "?"
            let owner = state.json["owner"]?.stringValue.map { String($0.prefix(10)) + "…" } ?? "?"
            let signed =
                quorum[id].map { summary in
                    summary.reached && summary.reusedOutput == nil
                        ? "\(summary.signers)/\(summary.operators), \(summary.signedPercent) stake"
                        : summary.signedShare
                } ?? ""
            say(
                cell("#\(id)", 7) + cell(level, 6) + cell(owner, 12) + cell("\(publication.batch)", 6)
                    + cell(signed, 26) + cell(publication.image, 62) + publication.metadata
            )
        }
        if let rejection = quorum.values.lazy.flatMap(\.rejected).first {
            say(
                "\nthe dishonest operator's answers were refused every time: \(rejection.operator.checksummed.prefix(10))… "
                    + "(\(rejection.outcome.label)\(rejection.outcome.reason.map { ": \($0)" } ?? ""))"
            )
        }
        say("\nCAR files:      \(cars.joined(separator: ", "))")
        say("contact sheets: \(sheets.joined(separator: ", "))")
        say("manifest:       \(configuration.out)/manifest.json")
        BatchCommand.writeMetrics(metrics, started: started, to: configuration.metricsFile, console: console)
        if let first = tokens.first, let publication = try await store.latestPublication(first) {
            say(
                "\nverify a token from the published blocks alone (another machine needs only the CAR file and the events):"
            )
            say(
                "  ./kiln verify \(publication.metadata) --car \(configuration.out)/batch-\(publication.batch).car --events \(root)/examples/forge-knights/events-1.jsonl --events \(root)/examples/forge-knights/events-2.jsonl"
            )
            say("or by token, with the demo's store:")
            say("  ./kiln verify --config \(folder)/kiln.yml \(Self.contract.checksummed):\(first.tokenId)")
        }
        say("\nsee it in a browser — gallery, IPFS gateway, metadata API and metrics on http://127.0.0.1:8080/:")
        say("  ./kiln serve --config \(folder)/kiln.yml")
    }

    /// The Kiln checkout holding templates/ and examples/: the current folder or one above the executable.
    static func checkout() throws -> String {
        var candidates = [FileManager.default.currentDirectoryPath]
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for _ in 0..<6 {
            candidates.append(url.path)
            url.deleteLastPathComponent()
        }
        for candidate in candidates
        where FileManager.default.fileExists(atPath: candidate + "/templates/forge-knights/template.yml")
            && FileManager.default.fileExists(atPath: candidate + "/examples/forge-knights/events-1.jsonl")
        {
            return (candidate as NSString).standardizingPath
        }
        throw CLIError("templates/forge-knights and examples/ were not found: run 'kiln demo' from the Kiln checkout")
    }
}

/// Quorum summaries by token id, collected from progress events.
final class QuorumLines: Sendable {
    private let storage = Mutex<[String: QuorumSummary]>([:])
    func add(_ token: String, _ summary: QuorumSummary) { storage.withLock { $0[token] = summary } }
    var summaries: [String: QuorumSummary] { storage.withLock { $0 } }
}
