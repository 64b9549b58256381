// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
public import KilnContent
public import KilnCore
internal import Yams

/// `kiln.yml`: what a batch watches, where it keeps its state and where it publishes. Relative paths are
/// relative to the file's folder. Every value can be overridden by a `KILN_*` environment variable or a flag.
///
/// ```yaml
/// chainId: 31337
/// store: kiln-data/kiln.sqlite       # SQLite database (created)
/// out: kiln-data/out                 # blocks/, batch-<n>.car, batch-<n>-sheet.png, manifest.json
/// events: {file: events.jsonl}       # recorded eth_getLogs objects, one per line, or
///                                    # {rpc: http://127.0.0.1:8545, fromBlock: 0, blockRange: 2000}
/// confirmations: 0
/// contracts:
///   - {address: "0x…", template: templates/forge-knights}
/// operators: {file: operators.yml}
/// publish: {profile: kubo-v1}
/// concurrency: 4                     # jobs processed at once
/// nodeTimeout: 20                    # seconds per node and attempt
/// ```
public struct Configuration: Sendable {
    public struct Contract: Sendable, Hashable {
        public var address: Address
        public var template: String
        public init(address: Address, template: String) {
            self.address = address
            self.template = template
        }
    }

    public var chainId: UInt64 = 31337
    public var store: String
    public var out: String
    public var eventsFile: String?
    /// A node's JSON-RPC URL to read logs from (`events: {rpc: URL, fromBlock: N}`), instead of a file.
    public var rpcURL: String?
    /// The first block read from `rpcURL` when the store has none yet (the collection's deployment block).
    public var fromBlock: UInt64 = 0
    /// How many blocks one `eth_getLogs` covers at most (halved when the node says it is too many results).
    public var blockRange: UInt64 = 2_000
    public var confirmations: UInt64 = 0
    public var contracts: [Contract]
    public var operatorsFile: String
    public var profile: ImportProfile = .kuboV1
    public var concurrency = 4
    public var nodeTimeout = 20.0
    /// Seconds a job stays leased to a run before another may take it.
    public var leaseSeconds = 600.0

    public init(store: String, out: String, eventsFile: String?, contracts: [Contract], operatorsFile: String) {
        self.store = store
        self.out = out
        self.eventsFile = eventsFile
        self.contracts = contracts
        self.operatorsFile = operatorsFile
    }

    public static let keys: Set<String> = [
        "chainId", "store", "out", "events", "confirmations", "contracts", "operators", "publish", "concurrency", "nodeTimeout", "leaseSeconds",
    ]

    /// Reads `path`; then applies `KILN_STORE`, `KILN_OUT`, `KILN_EVENTS`, `KILN_RPC`, `KILN_OPERATORS`, `KILN_CONCURRENCY` from
    /// `environment`.
    public init(path: String, environment: [String: String]) throws(PipelineError) {
        guard let bytes = try? FileBytes.read(path, limit: 1 << 20) else {
            throw PipelineError("Unable to read '\(path)': create it with the keys in README.md, \"kiln.yml\"")
        }
        try self.init(yaml: String(decoding: bytes, as: UTF8.self), source: path, environment: environment)
    }

    public init(yaml: String, source: String, environment: [String: String] = [:]) throws(PipelineError) {
        func fail(_ message: String) -> PipelineError { PipelineError("\(source): \(message)") }
        let folder = (source as NSString).deletingLastPathComponent
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") || folder.isEmpty ? path : folder + "/" + path
        }
        let root: Any?
        do { root = try Yams.load(yaml: yaml) } catch { throw fail("not valid YAML: \(error)") }
        guard let map = root as? [String: Any] else { throw fail("expected a mapping (see README.md, \"kiln.yml\")") }
        for key in map.keys.sorted() where !Self.keys.contains(key) {
            throw fail("unknown key '\(key)'; known keys: \(Self.keys.sorted().joined(separator: ", "))")
        }
        func text(_ key: String, _ value: Any?) throws(PipelineError) -> String? {
            guard let value else { return nil }
            guard let text = value as? String, !text.isEmpty else { throw fail("'\(key)' must be text") }
            return text
        }
        func file(_ key: String) throws(PipelineError) -> String? {
            guard let value = map[key] else { return nil }
            if let text = value as? String { return text }
            guard let nested = value as? [String: Any], let path = nested["file"] as? String, nested.count == 1 else {
                throw fail("'\(key)' must be {file: PATH}")
            }
            return path
        }
        var contracts: [Contract] = []
        if let list = map["contracts"] {
            guard let list = list as? [[String: Any]] else { throw fail("'contracts' must be a list of {address, template}") }
            for (index, entry) in list.enumerated() {
                guard let addressText = entry["address"] as? String, let address = try? Address(hex: addressText) else {
                    throw fail("contracts[\(index)].address must be a 0x address")
                }
                guard let template = entry["template"] as? String else { throw fail("contracts[\(index)].template must be a template folder") }
                guard !contracts.contains(where: { $0.address == address }) else { throw fail("contract \(address) is listed twice") }
                contracts.append(Contract(address: address, template: resolve(template)))
            }
        }
        guard !contracts.isEmpty else { throw fail("'contracts' must list at least one {address, template}") }
        let operatorsEntry = try file("operators").map(resolve)
        guard let operators = environment["KILN_OPERATORS"] ?? operatorsEntry else { throw fail("'operators' must be {file: operators.yml}") }
        let storeEntry = try text("store", map["store"]) ?? "kiln-data/kiln.sqlite"
        let outEntry = try text("out", map["out"]) ?? "kiln-data/out"
        var eventsEntry: String?
        var rpcEntry: String?
        if let value = map["events"] {
            if let nested = value as? [String: Any], let url = nested["rpc"] {
                for key in nested.keys.sorted() where !["rpc", "fromBlock", "blockRange"].contains(key) {
                    throw fail("events: unknown key '\(key)' (an rpc source takes rpc, fromBlock, blockRange)")
                }
                guard let url = url as? String, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                    throw fail("events.rpc must be an http:// or https:// JSON-RPC URL")
                }
                rpcEntry = url
            } else {
                eventsEntry = try file("events").map(resolve)
            }
        }
        self.init(
            store: environment["KILN_STORE"] ?? resolve(storeEntry), out: environment["KILN_OUT"] ?? resolve(outEntry),
            eventsFile: environment["KILN_EVENTS"] ?? eventsEntry, contracts: contracts, operatorsFile: operators)
        // Where logs come from, strongest first: KILN_EVENTS (a file), KILN_RPC (a node), kiln.yml's events.
        if environment["KILN_EVENTS"] == nil, let url = environment["KILN_RPC"] ?? rpcEntry {
            rpcURL = url
            eventsFile = nil
        }
        if let nested = map["events"] as? [String: Any] {
            if let value = nested["fromBlock"] {
                guard let block = value as? Int, block >= 0 else { throw fail("events.fromBlock must be a block number") }
                fromBlock = UInt64(block)
            }
            if let value = nested["blockRange"] {
                guard let range = value as? Int, range > 0 else { throw fail("events.blockRange must be a number of blocks > 0") }
                blockRange = UInt64(range)
            }
        }
        if let value = map["chainId"] {
            guard let id = value as? Int, id > 0 else { throw fail("'chainId' must be a positive whole number") }
            chainId = UInt64(id)
        }
        if let value = map["confirmations"] {
            guard let count = value as? Int, count >= 0 else { throw fail("'confirmations' must be a whole number ≥ 0") }
            confirmations = UInt64(count)
        }
        if let value = environment["KILN_CONCURRENCY"].flatMap(Int.init) ?? map["concurrency"] {
            guard let count = value as? Int, (1...256).contains(count) else { throw fail("'concurrency' must be 1…256") }
            concurrency = count
        }
        if let value = map["nodeTimeout"] {
            guard let seconds = (value as? Double) ?? (value as? Int).map(Double.init), seconds > 0 else { throw fail("'nodeTimeout' must be seconds > 0") }
            nodeTimeout = seconds
        }
        if let value = map["leaseSeconds"] {
            guard let seconds = (value as? Double) ?? (value as? Int).map(Double.init), seconds > 0 else { throw fail("'leaseSeconds' must be seconds > 0") }
            leaseSeconds = seconds
        }
        if let value = map["publish"] {
            guard let publish = value as? [String: Any] else { throw fail("'publish' must be {profile: kubo-v1}") }
            for key in publish.keys where key != "profile" && key != "mode" { throw fail("publish: unknown key '\(key)'") }
            if let mode = publish["mode"] as? String, mode != "files" {
                throw fail("publish.mode '\(mode)' is not available in this build (only 'files'; on-chain modes come with the chain support)")
            }
            if let name = publish["profile"] as? String {
                do { self.profile = try ImportProfile(named: name) } catch { throw fail("publish.profile: \(error.message)") }
            }
        }
    }
}
