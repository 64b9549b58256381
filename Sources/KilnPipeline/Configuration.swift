// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
public import KilnAVS
internal import KilnChain
public import KilnContent
public import KilnCore
internal import KilnCrypto
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
/// operators: {file: operators.yml}  # or an on-chain registry (IECDSAStakeRegistry views):
///                                    # {source: chain, registry: "0x…", fromBlock: 0, rpc: URL,
///                                    #  nodes: {"0xOPERATOR": http://127.0.0.1:8101, …}}
/// publish: {profile: kubo-v1}        # mode: files (default) | onchain | onchain-base, with
///                                    # key: publisher.key (0600; or KILN_PUBLISHER_KEY) and rpc: URL
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
    /// The operators file; nil when ``chainOperators`` is set.
    public var operatorsFile: String?
    /// `operators: {source: chain, …}`: the registry contract and where each operator's node listens.
    public var chainOperators: ChainOperators?
    public var publishMode: PublishMode = .files
    /// The key `onchain` modes send transactions with (a 0600 file), unless `KILN_PUBLISHER_KEY` is set.
    public var publisherKeyFile: String?
    /// The JSON-RPC URL transactions and registry reads go to, when not the events' node.
    public var publishRPC: String?
    public var profile: ImportProfile = .kuboV1
    public var concurrency = 4
    public var nodeTimeout = 20.0
    /// Seconds a job stays leased to a run before another may take it.
    public var leaseSeconds = 600.0

    public init(store: String, out: String, eventsFile: String?, contracts: [Contract], operatorsFile: String?) {
        self.store = store
        self.out = out
        self.eventsFile = eventsFile
        self.contracts = contracts
        self.operatorsFile = operatorsFile
    }

    public struct ChainOperators: Sendable, Hashable {
        public var registry: Address
        public var fromBlock: UInt64
        public var rpc: String?
        public var nodes: [Address: String]
    }

    public enum PublishMode: String, Sendable, CaseIterable {
        /// Blocks, CAR, manifest: nothing on chain.
        case files
        /// Also `setTokenURI(id, "ipfs://<metadata>")` per changed token (ERC-4906 `MetadataUpdate`).
        case onchain
        /// Also one collection directory per batch and `setBaseURI("ipfs://<dir>/", from, to)` per run of changed ids.
        case onchainBase = "onchain-base"
    }

    /// The node registry reads and transactions use: `publish.rpc`, the registry's own `rpc`, or the events' node.
    public var chainRPC: String? { publishRPC ?? chainOperators?.rpc ?? rpcURL }

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
        func url(_ key: String, _ value: Any) throws(PipelineError) -> String {
            guard let url = value as? String, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw fail("\(key) must be an http:// or https:// JSON-RPC URL")
            }
            return url
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
        var chainOperators: ChainOperators?
        var operatorsFile: String?
        if let path = environment["KILN_OPERATORS"] {
            operatorsFile = path
        } else if let nested = map["operators"] as? [String: Any], nested["source"] as? String == "chain" {
            chainOperators = try Self.chainOperators(nested, url: url, fail: fail)
        } else {
            operatorsFile = try file("operators").map(resolve)
        }
        guard operatorsFile != nil || chainOperators != nil else {
            throw fail("'operators' must be {file: operators.yml} or {source: chain, registry: 0x…, nodes: {…}}")
        }
        let storeEntry = try text("store", map["store"]) ?? "kiln-data/kiln.sqlite"
        let outEntry = try text("out", map["out"]) ?? "kiln-data/out"
        var eventsEntry: String?
        var rpcEntry: String?
        if let nested = map["events"] as? [String: Any], let value = nested["rpc"] {
            for key in nested.keys.sorted() where !["rpc", "fromBlock", "blockRange"].contains(key) {
                throw fail("events: unknown key '\(key)' (an rpc source takes rpc, fromBlock, blockRange)")
            }
            rpcEntry = try url("events.rpc", value)
            if let value = nested["fromBlock"] {
                guard let block = value as? Int, block >= 0 else { throw fail("events.fromBlock must be a block number") }
                fromBlock = UInt64(block)
            }
            if let value = nested["blockRange"] {
                guard let range = value as? Int, range > 0 else { throw fail("events.blockRange must be a number of blocks > 0") }
                blockRange = UInt64(range)
            }
        } else {
            eventsEntry = try file("events").map(resolve)
        }
        self.store = environment["KILN_STORE"] ?? resolve(storeEntry)
        self.out = environment["KILN_OUT"] ?? resolve(outEntry)
        self.contracts = contracts
        self.operatorsFile = operatorsFile
        self.chainOperators = chainOperators
        // Where logs come from, strongest first: KILN_EVENTS (a file), KILN_RPC (a node), kiln.yml's events.
        if let path = environment["KILN_EVENTS"] {
            eventsFile = path
        } else if let url = environment["KILN_RPC"] ?? rpcEntry {
            rpcURL = url
        } else {
            eventsFile = eventsEntry
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
            guard let publish = value as? [String: Any] else { throw fail("'publish' must be {profile: kubo-v1, mode: files}") }
            for key in publish.keys.sorted() where !["profile", "mode", "key", "rpc"].contains(key) {
                throw fail("publish: unknown key '\(key)' (known: profile, mode, key, rpc)")
            }
            if let value = publish["mode"] {
                guard let name = value as? String, let mode = PublishMode(rawValue: name) else {
                    throw fail("publish.mode must be one of \(PublishMode.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                publishMode = mode
            }
            if let value = publish["key"] {
                guard let path = value as? String, !path.isEmpty else { throw fail("publish.key must be the path of a 0600 key file") }
                publisherKeyFile = resolve(path)
            }
            if let value = publish["rpc"] { publishRPC = try url("publish.rpc", value) }
            if let name = publish["profile"] as? String {
                do { self.profile = try ImportProfile(named: name) } catch { throw fail("publish.profile: \(error.message)") }
            }
        }
        if publishMode != .files {
            guard chainRPC != nil else { throw fail("publish.mode \(publishMode.rawValue) sends transactions: give publish.rpc, events.rpc or KILN_RPC") }
            guard publisherKeyFile != nil || environment["KILN_PUBLISHER_KEY"] != nil else {
                throw fail("publish.mode \(publishMode.rawValue) sends transactions: give publish.key (a 0600 key file) or KILN_PUBLISHER_KEY")
            }
        }
        if chainOperators != nil && chainRPC == nil {
            throw fail("operators.source chain reads the registry over JSON-RPC: give operators.rpc, events.rpc or KILN_RPC")
        }
    }

    static func chainOperators(
        _ map: [String: Any], url: (String, Any) throws(PipelineError) -> String, fail: (String) -> PipelineError
    ) throws(PipelineError) -> ChainOperators {
        for key in map.keys.sorted() where !["source", "registry", "fromBlock", "rpc", "nodes"].contains(key) {
            throw fail("operators: unknown key '\(key)' (a chain registry takes source, registry, fromBlock, rpc, nodes)")
        }
        guard let text = map["registry"] as? String, let registry = try? Address(hex: text) else {
            throw fail("operators.registry must be the stake registry's 0x address")
        }
        var fromBlock: UInt64 = 0
        if let value = map["fromBlock"] {
            guard let block = value as? Int, block >= 0 else { throw fail("operators.fromBlock must be a block number") }
            fromBlock = UInt64(block)
        }
        let rpc = try map["rpc"].map { value throws(PipelineError) in try url("operators.rpc", value) }
        guard let list = map["nodes"] as? [String: Any], !list.isEmpty else {
            throw fail("operators.nodes must map each operator's 0x address to its node's URL (endpoints are not on chain)")
        }
        var nodes: [Address: String] = [:]
        for (key, value) in list {
            guard let address = try? Address(hex: key) else { throw fail("operators.nodes: '\(key)' is not an address") }
            guard let url = value as? String, url.hasPrefix("http://") || url.hasPrefix("https://") else {
                throw fail("operators.nodes.\(key) must be an http(s) URL")
            }
            nodes[address] = url.hasSuffix("/") ? String(url.dropLast()) : url
        }
        return ChainOperators(registry: registry, fromBlock: fromBlock, rpc: rpc, nodes: nodes)
    }
}

extension Configuration {
    /// The registry kiln.yml names: an operators file, or the on-chain registry read over ``chainRPC``.
    public func operatorRegistry() throws -> any OperatorRegistry {
        if let chain = chainOperators, let url = chainRPC {
            return ChainOperatorRegistry(rpc: rpc(url), registry: chain.registry, chainId: chainId, endpoints: chain.nodes, fromBlock: chain.fromBlock)
        }
        guard let operatorsFile else { throw PipelineError("no operators: give operators: {file: …} in kiln.yml or KILN_OPERATORS") }
        return try FileOperatorRegistry(path: operatorsFile)
    }

    /// A client for `url` whose requests time out after ``nodeTimeout``.
    func rpc(_ url: String) -> EthereumRPC {
        var rpc = EthereumRPC(url: url)
        rpc.client.timeout = .seconds(Int64(nodeTimeout.rounded(.up)))
        return rpc
    }

    /// The key transactions are sent with: `KILN_PUBLISHER_KEY` (hex), else publish.key (a file only its owner can read).
    func publisherKey(environment: [String: String] = ProcessInfo.processInfo.environment) throws -> PrivateKey {
        if let hex = environment["KILN_PUBLISHER_KEY"] {
            do { return try PrivateKey(hex: hex.trimmingCharacters(in: .whitespacesAndNewlines)) } catch {
                throw PipelineError("KILN_PUBLISHER_KEY: \(error.message)")
            }
        }
        guard let path = publisherKeyFile else { throw PipelineError("publish.mode \(publishMode.rawValue) needs publish.key or KILN_PUBLISHER_KEY") }
        do { return try PrivateKey(contentsOfFile: path) } catch { throw PipelineError("publish.key: \(error.message)") }
    }
}
