import Foundation
import KilnContent
import KilnTesting
import Testing

/// Four real `kiln node serve` operators (stake 40/30/20/10 ETH; the fourth signs a wrong answer for every job)
/// in a temporary folder with their `operators.yml`, and `operators-down.yml`: the same operators at endpoints
/// nothing listens on. Sites (a kiln.yml, its events, store and output) are folders inside.
final class BatchBench {
    static let contractA = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
    static let contractB = "0x00000000000000000000000000000000000000b2"
    static let registry = "0x000000000000000000000000000000000000AB1e"
    static let template = PythonBench.packageRoot.appendingPathComponent("templates/forge-knights")

    let folder: URL
    private var nodes: [NodeProcess] = []
    private var keys: [String] = []
    private var arguments: [[String]] = []

    init() async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-batch-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let head = "chainId: 31337\nverifyingContract: \"\(Self.registry)\"\nthresholdBps: 6667\noperators:\n"
        var live = head
        var down = head
        for (index, stake) in [40, 30, 20, 10].enumerated() {
            let key = "0x" + String(repeating: "0", count: 62) + String(format: "%02x", index + 21)
            let fault = index == 1 ? ["--test-fault", "wrong-output"] : []
            let node = try await NodeProcess(
                key: key,
                folder: folder,
                arguments: ["--verifying-contract", Self.registry] + fault
            )
            nodes.append(node)
            keys.append(key)
            arguments.append(["--verifying-contract", Self.registry] + fault)
            live +=
                "  - {address: \"\(node.address)\", endpoint: \"\(node.url)\", stake: \"\(stake)000000000000000000\"}\n"
            down +=
                "  - {address: \"\(node.address)\", endpoint: \"http://127.0.0.1:1\", stake: \"\(stake)000000000000000000\"}\n"
        }
        try Data(live.utf8).write(to: folder.appendingPathComponent("operators.yml"))
        try Data(down.utf8).write(to: folder.appendingPathComponent("operators-down.yml"))
    }

    /// Kills node `index` at once (SIGKILL), as a crash or a power cut would.
    func killNode(_ index: Int) { nodes[index].stop() }

    /// Starts node `index` again, with the same key and arguments, on the port it had.
    func restartNode(_ index: Int) async throws {
        let port = try #require(URLComponents(string: nodes[index].url)?.port)
        nodes[index] = try await NodeProcess(key: keys[index], folder: folder, port: port, arguments: arguments[index])
    }

    deinit {
        nodes.forEach { $0.stop() }
        try? FileManager.default.removeItem(at: folder)
    }

    /// A new site: `kiln.yml` watching `contracts` (address → template folder), reading `events.jsonl`.
    func site(_ name: String, contracts: [(String, URL)] = [(contractA, template)], events: [String]) async throws
        -> Site
    {
        let site = Site(dir: folder.appendingPathComponent(name), bench: folder)
        try FileManager.default.createDirectory(at: site.dir, withIntermediateDirectories: true)
        var yaml = "chainId: 31337\nstore: data/kiln.sqlite\nout: out\nevents: {file: events.jsonl}\ncontracts:\n"
        for (address, template) in contracts { yaml += "  - {address: \"\(address)\", template: \(template.path)}\n" }
        yaml += "operators: {file: ../operators.yml}\nconcurrency: 4\nnodeTimeout: 30\n"
        try await site.write("kiln.yml", yaml)
        try await site.write("events.jsonl", events.joined(separator: "\n") + "\n")
        return site
    }

    /// A copy of `site` (its kiln.yml, events, store and output) named `name`, beside it.
    func copy(_ site: Site, as name: String) throws -> Site {
        let copy = Site(dir: folder.appendingPathComponent(name), bench: folder)
        try FileManager.default.copyItem(at: site.dir, to: copy.dir)
        return copy
    }

    /// The lines of a recorded example file whose token id (a log's last topic) is in `tokens`.
    static func exampleLogs(_ file: String, tokens: Set<Int>) async throws -> [String] {
        let url = PythonBench.packageRoot.appendingPathComponent("examples/forge-knights/\(file)")
        return try String(contentsOf: url, encoding: .utf8).split(separator: "\n").map(String.init).filter { line in
            guard let log = object(line), let topics = log["topics"] as? [String], let last = topics.last,
                let id = Int(last.dropFirst(2), radix: 16)
            else { return false }
            return tokens.contains(id)
        }
    }

    /// `line` with its contract address and log index replaced (another contract's copy of the same event).
    static func moved(_ line: String, to address: String, logIndexOffset: Int) -> String {
        guard var log = object(line),
            let index = (log["logIndex"] as? String).flatMap({ Int($0.dropFirst(2), radix: 16) })
        else { return line }
        log["address"] = address
        log["logIndex"] = "0x" + String(index + logIndexOffset, radix: 16)
        return String(decoding: try! JSONSerialization.data(withJSONObject: log, options: [.sortedKeys]), as: UTF8.self)
    }

    static func object(_ line: some StringProtocol) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
    }
}

/// One kiln.yml folder.
struct Site {
    let dir: URL
    let bench: URL

    var out: URL { dir.appendingPathComponent("out") }
    var store: String { dir.appendingPathComponent("data/kiln.sqlite").path }

    func write(_ name: String, _ text: String) async throws {
        try Data(text.utf8).write(to: dir.appendingPathComponent(name))
    }

    func append(_ name: String, _ lines: [String]) async throws {
        let handle = try FileHandle(forWritingTo: dir.appendingPathComponent(name))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data((lines.joined(separator: "\n") + "\n").utf8))
        try handle.close()
    }

    /// Runs `kiln <command> --log-format json` here (killed past `timeout` seconds when one is given).
    func kiln(
        _ command: String = "batch",
        _ arguments: [String] = [],
        environment: [String: String] = [:],
        timeout: TimeInterval? = nil
    ) async throws -> Outcome {
        Outcome(
            try await KilnProcess.run(
                [command, "--config", "kiln.yml", "--log-format", "json"] + arguments,
                in: dir,
                environment: environment,
                timeout: timeout
            )
        )
    }

    func kilnInBackground(_ arguments: [String], environment: [String: String] = [:]) async throws -> Outcome {
        Outcome(
            try await KilnProcess.run(
                ["batch", "--config", "kiln.yml", "--log-format", "json"] + arguments,
                in: dir,
                environment: environment
            )
        )
    }

    /// Every file under out/ (relative path → bytes).
    func outputs() async throws -> [String: Data] {
        var files: [String: Data] = [:]
        // Resolved first: out/ may be a link (to a size-limited disk, in FullDiskTests).
        let out = out.resolvingSymlinksInPath()
        guard let walker = FileManager.default.enumerator(at: out, includingPropertiesForKeys: [.isRegularFileKey])
        else { return files }
        let prefix = out.resolvingSymlinksInPath().path + "/"
        for case let url as URL in walker
        where (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true {
            let path = url.resolvingSymlinksInPath().path
            let name = path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
            // The block database's own files differ from run to run (the order jobs committed in): its blocks,
            // each under the name a block file would have, are the output.
            if name.hasPrefix("blocks/blocks.sqlite") { continue }
            files[name] = try Data(contentsOf: url)
        }
        let blocks = out.appendingPathComponent("blocks").path
        if FileManager.default.fileExists(atPath: blocks) {
            let store = try FilesystemBlockstore(folder: blocks)
            for key in try store.keys() where files["blocks/" + key] == nil {
                files["blocks/" + key] = Data(try store.get(try CID(key)))
            }
        }
        return files
    }
}

/// A finished `kiln batch`: its exit, and its JSON progress lines.
struct Outcome {
    let result: KilnProcess.Result
    let events: [[String: Any]]

    init(_ result: KilnProcess.Result) {
        self.result = result
        events = result.stdout.split(separator: "\n").compactMap { BatchBench.object($0) }
    }

    var status: Int32 { result.status }
    var summary: [String: Any]? { events.last { $0["event"] as? String == "summary" } }
    var jobs: [[String: Any]] { events.filter { $0["event"] as? String == "job" } }
    /// "contract#id" (contract in lower case) → job status, for the jobs this run reported.
    var statuses: [String: String] {
        Dictionary(
            jobs.compactMap { job in
                (job["token"] as? String).map { token in
                    (String(token.lowercased().drop { $0 != ":" }.dropFirst()), job["status"] as? String ?? "?")
                }
            }
        ) { _, new in new }
    }
    func status(_ id: Int, _ contract: String = BatchBench.contractA) -> String? { statuses["\(contract)#\(id)"] }
    var problems: [String] { (summary?["problems"] as? [String]) ?? [] }
    var transcript: String { "exit \(result.status)\n\(result.stdout)\n\(result.stderr)" }
}
