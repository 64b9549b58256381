// Kiln — Apache-2.0. See LICENSE.
// `kiln batch` in-process, as the command runs it (BatchRunner.open + syncAndRun over a kiln.yml site), for the
// two batch-level targets of the README's "Performance targets":
// - a batch of new tokens of templates/forge-knights less its inference layer (nodes would be other processes'
//   CPU): rendering, the PNG and JPEG files, blocks, the store, the CAR and the contact sheet — `kiln batch`'s own
//   work per token, less the signature checks of inference;
// - a no-change batch over a store that has published 10 000 tokens (two events each, as
//   scripts/bench/batch_events.py writes them).
// Each iteration gets a fresh site; making it is outside the measurement.

import Benchmark
import KilnBenchmarkSupport
import Foundation
import KilnCore
import KilnPipeline

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .kiln(
        metrics: [.wallClock, .cpuTotal, .mallocCountTotal],
        warmupIterations: 1,
        maxDuration: .seconds(20),
        maxIterations: 20
    )

    Benchmark("Batch_of_50_new_tokens,_forge-knights_less_its_inference_layer") { benchmark in
        let site = try Site(tokens: 50, template: Site.plainForgeKnights())
        defer { site.remove() }
        benchmark.startMeasurement()
        let summary = try await site.batch()
        benchmark.stopMeasurement()
        guard summary.published == 50, summary.exitCode == 0 else { throw Unexpected(summary) }
    }

    // The store is made once (a first batch over 10 000 tokens of a one-layer 16² template: about a minute);
    // every iteration is a no-change batch over it.
    nonisolated(unsafe) var noChange: Site?
    Benchmark(
        "No-change_batch_over_10_000_published_tokens",
        // (Its CPU time is left out: the clock behind it ticks in 10 ms, half of the whole run.)
        configuration: .kiln(
            metrics: [.wallClock, .mallocCountTotal],
            warmupIterations: 1,
            maxDuration: .seconds(10),
            maxIterations: 50,
            setup: {
                let site = try Site(tokens: 10_000, template: Site.tinyTemplate())
                let first = try await site.batch()
                guard first.published == 10_000, first.exitCode == 0 else { throw Unexpected(first) }
                noChange = site
            },
            teardown: { noChange?.remove() }
        )
    ) { benchmark in
        guard let site = noChange else { return }
        for _ in benchmark.scaledIterations {
            let summary = try await site.batch()
            guard summary.batch == nil, summary.published == 0 else { throw Unexpected(summary) }
        }
    }
}

/// A kiln.yml site in a temporary folder: the recorded events of `tokens` tokens (a mint and a level-up each,
/// 100 logs per block), a SQLite store and an output folder.
struct Site: Sendable {
    static let contract = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
    let folder: URL
    let configuration: Configuration

    init(tokens: Int, template: (URL) throws -> Void) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try template(folder.appendingPathComponent("template"))
        try Data(Self.events(tokens: tokens).utf8).write(to: folder.appendingPathComponent("events.jsonl"))
        // kiln.yml needs operators; templates without inference never ask them.
        try """
        chainId: 31337
        verifyingContract: "0x000000000000000000000000000000000000ab1e"
        thresholdBps: 6667
        operators:
          - {address: "0x7E5F4552091A69125d5DfCb7b8C2659029395Bdf", endpoint: "http://127.0.0.1:9", stake: "1"}
        """.write(to: folder.appendingPathComponent("operators.yml"), atomically: true, encoding: .utf8)
        configuration = try Configuration(
            yaml: """
                store: data/kiln.sqlite
                out: out
                events: {file: events.jsonl}
                contracts:
                  - {address: "\(Self.contract)", template: template}
                operators: {file: operators.yml}
                concurrency: 8
                """,
            source: folder.appendingPathComponent("kiln.yml").path
        )
    }

    func batch() async throws -> BatchSummary {
        try await BatchRunner.open(configuration).syncAndRun(options: BatchOptions()) { _ in }
    }

    func remove() { try? FileManager.default.removeItem(at: folder) }

    /// templates/forge-knights without its inference section and layer (what batch_bench.sh's part 2 uses).
    static func plainForgeKnights() -> (URL) throws -> Void {
        { target in
            try FileManager.default.copyItem(
                at: repository.appendingPathComponent("templates/forge-knights"),
                to: target
            )
            let path = target.appendingPathComponent("template.yml")
            var lines = try String(contentsOf: path, encoding: .utf8).split(
                separator: "\n",
                omittingEmptySubsequences: false
            )
            // Drop the `inference:` block (up to the next unindented line) and the `- inference: main` layer.
            if let start = lines.firstIndex(of: "inference:") {
                let end = lines[(start + 1)...].firstIndex { !$0.hasPrefix(" ") && !$0.isEmpty } ?? lines.endIndex
                lines.removeSubrange(start..<end)
            }
            if let layer = lines.firstIndex(where: { $0.trimmingCharacters(in: .whitespaces) == "- inference: main" }) {
                let end = lines[(layer + 1)...].firstIndex { !$0.hasPrefix("    ") } ?? lines.endIndex
                lines.removeSubrange(layer..<end)
            }
            try lines.joined(separator: "\n").write(to: path, atomically: true, encoding: .utf8)
        }
    }

    /// A 16² template with the same events, a gradient background and the level as text: a store of 10 000 published tokens
    /// in about a minute.
    static func tinyTemplate() -> (URL) throws -> Void {
        { target in
            try FileManager.default.createDirectory(at: target, withIntermediateDirectories: true)
            try """
            name: Tiny Knights
            size: [16, 16]
            background:
              gradient: {from: [0, 0], to: [0, 16], stops: [[0, "#1a1026"], [1, "#3b1d0e"]]}
            state:
              traits:
                level: {type: int, default: 1}
                owner: {type: string, default: "0x0000000000000000000000000000000000000000"}
              events:
                - signature: "LevelUp(uint256 indexed tokenId, uint256 level)"
                  token: tokenId
                  set: {level: "event.level"}
                - signature: "Transfer(address indexed from, address indexed to, uint256 indexed tokenId)"
                  token: tokenId
                  set: {owner: "event.to"}
            layers:
              - text: "{{state.level}}"
                color: "#ffe9b0"
            """.write(to: target.appendingPathComponent("template.yml"), atomically: true, encoding: .utf8)
        }
    }

    /// The lines scripts/bench/batch_events.py writes for `tokens` tokens (eth_getLogs objects, one per line).
    static func events(tokens: Int) -> String {
        let transfer = Keccak256.hash(utf8: "Transfer(address,address,uint256)").hex
        let levelUp = Keccak256.hash(utf8: "LevelUp(uint256,uint256)").hex
        func word(_ value: Int) -> String {
            "0x" + String(repeating: "0", count: 64 - String(value, radix: 16).count) + String(value, radix: 16)
        }
        var events: [(topics: [String], data: String)] = []
        for token in 1...tokens {
            let owner = Keccak256.hash(utf8: "kiln bench owner \(token % 97)").bytes.suffix(20)
            events.append(
                (
                    [
                        transfer, word(0), "0x" + String(repeating: "00", count: 12) + Hex.encode(owner, prefix: false),
                        word(token),
                    ], "0x"
                )
            )
        }
        for token in 1...tokens { events.append(([levelUp, word(token)], word(1 + token % 15))) }
        var out = ""
        for start in stride(from: 0, to: events.count, by: 100) {
            let block = 1000 + start / 100
            let blockHash = Keccak256.hash(utf8: "kiln bench block \(block)").hex
            for (index, event) in events[start..<min(start + 100, events.count)].enumerated() {
                let topics = event.topics.map { "\"\($0)\"" }.joined(separator: ",")
                let tx = Keccak256.hash(utf8: "kiln bench tx \(block) \(index)").hex
                out += """
                    {"address":"\(contract)","topics":[\(topics)],"data":"\(event.data)","blockNumber":"0x\(String(block, radix: 16))",\
                    "blockHash":"\(blockHash)","transactionHash":"\(tx)","transactionIndex":"0x\(String(index, radix: 16))",\
                    "logIndex":"0x\(String(index, radix: 16))","removed":false}

                    """
            }
        }
        return out
    }
}

/// A batch that did not do what the benchmark expects: its summary.
struct Unexpected: Error, CustomStringConvertible {
    let summary: BatchSummary
    init(_ summary: BatchSummary) { self.summary = summary }
    var description: String {
        "batch \(summary.batch.map(String.init) ?? "none"): \(summary.published) published, \(summary.failed) failed, "
            + "exit \(summary.exitCode); \(summary.problems)"
    }
}
