// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
public import KilnAVS
internal import KilnChain
public import KilnContent
public import KilnCore
public import KilnInference
internal import KilnCrypto
internal import KilnYAML

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
///                                    # key: publisher.key (0600; or KILN_PUBLISHER_KEY) and rpc: URL;
///                                    # baseURI: https://media.example/ (where kiln serve is reached);
///                                    # ipfs: [{kubo: URL}, {pinning: URL, token: env:NAME}], check: URL,
///                                    # origins: [URL of kiln serve]
/// concurrency: 4                     # jobs processed at once
/// nodeTimeout: 20                    # seconds per node and attempt
/// ```
public struct Configuration: Sendable {
    /// One watched contract and its template folder.
    public struct Contract: Sendable, Hashable {
        /// The contract.
        public var address: Address
        /// The template folder (resolved against kiln.yml's folder).
        public var template: String
        /// A watched contract.
        public init(address: Address, template: String) {
            self.address = address
            self.template = template
        }
    }

    /// The chain the contracts are on (`chainId`, `KILN_CHAIN_ID`).
    public var chainId: UInt64 = 31337
    /// The SQLite store (`store`, `KILN_STORE`, `--store`).
    public var store: String
    /// The output folder (`out`, `KILN_OUT`, `--out`).
    public var out: String
    /// A file of recorded logs (`events: {file:}`, `KILN_EVENTS`, `--events`); nil with an RPC source.
    public var eventsFile: String?
    /// A node's JSON-RPC URL to read logs from (`events: {rpc: URL, fromBlock: N}`), instead of a file.
    public var rpcURL: String?
    /// The first block read from `rpcURL` when the store has none yet (the collection's deployment block).
    public var fromBlock: UInt64 = 0
    /// How many blocks one `eth_getLogs` covers at most (halved when the node says it is too many results).
    public var blockRange: UInt64 = 2_000
    /// Blocks a log must be buried under before it is read (`confirmations`, `KILN_CONFIRMATIONS`).
    public var confirmations: UInt64 = 0
    /// The watched contracts, in kiln.yml's order.
    public var contracts: [Contract]
    /// The operators file; nil when ``chainOperators`` is set.
    public var operatorsFile: String?
    /// `operators: {source: chain, …}`: the registry contract and where each operator's node listens.
    public var chainOperators: ChainOperators?
    /// How media are published (`publish.mode`, `KILN_PUBLISH_MODE`).
    public var publishMode: PublishMode = .files
    /// The key `onchain` modes send transactions with (a 0600 file), unless `KILN_PUBLISHER_KEY` is set.
    public var publisherKeyFile: String?
    /// The JSON-RPC URL transactions and registry reads go to, when not the events' node.
    public var publishRPC: String?
    /// Where `kiln batch` writes its run's metrics (Prometheus text) and `kiln serve` reads them: `metrics.prom`
    /// next to the output folder (not in it: `out/` holds only what a batch publishes, byte for byte the same on
    /// every machine).
    public var metricsFile: String {
        ((out as NSString).deletingLastPathComponent as NSString).appendingPathComponent("metrics.prom")
    }
    /// The public URL of `kiln serve` (`publish.baseURI`, ends with `/`): a collection with an HTTP `baseURI`
    /// points its contract at `<baseURI>tokens/<chainId>/<contract>/`, which the metadata API answers.
    public var baseURI: String?
    /// IPFS providers every batch is pushed to (`publish.ipfs`), until each confirms.
    public var ipfsTargets: [IPFSTarget] = []
    /// A trustless gateway to fetch every batch back through once pushed (`publish.check`).
    public var retrievalCheck: String?
    /// Seconds one run waits for a pinning service to answer `pinned` (`publish.pinWait`; then the next run asks).
    public var pinWait = 60.0
    /// Where providers can fetch the blocks from (`publish.origins`: URLs of `kiln serve`), sent as multiaddrs.
    public var origins: [String] = []
    /// How files become CIDs (`publish.profile`, `KILN_PROFILE`).
    public var profile: ImportProfile = .kuboV1
    /// Jobs processed at once (`concurrency`, `KILN_CONCURRENCY`, `--concurrency`).
    public var concurrency = 4
    /// Seconds per node and attempt (`nodeTimeout`, `KILN_NODE_TIMEOUT`).
    public var nodeTimeout = 20.0
    /// Seconds a job stays leased to a run before another may take it.
    public var leaseSeconds = 600.0

    /// A configuration built in code (tests, tools); everything else at its default.
    public init(store: String, out: String, eventsFile: String?, contracts: [Contract], operatorsFile: String?) {
        self.store = store
        self.out = out
        self.eventsFile = eventsFile
        self.contracts = contracts
        self.operatorsFile = operatorsFile
    }

    /// `operators: {source: chain, …}`: an on-chain stake registry.
    public struct ChainOperators: Sendable, Hashable {
        /// The registry contract.
        public var registry: Address
        /// The first block its registration logs are read from.
        public var fromBlock: UInt64
        /// Its own JSON-RPC URL, when not the events' or publish's node.
        public var rpc: String?
        /// Each operator's node: a URL, or an Infernet node and container (endpoints are not on chain).
        public var nodes: [Address: NodeEndpoint]
        /// The bearer token each node that asks for one gets (`token: env:NAME|file:PATH`); never printed.
        public var bearers: [NodeEndpoint: String] = [:]
    }

    /// What a batch publishes besides blocks and files.
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

    /// The keys kiln.yml accepts, one list per mapping: the reader checks each mapping against its list, and
    /// ``paths`` names them all as the reference page does (docs/reference/kiln-yml.md; a test compares the two).
    public enum Keys {
        /// The top level.
        public static let top = [
            "chainId", "store", "out", "events", "confirmations", "contracts", "operators", "publish", "concurrency",
            "nodeTimeout", "leaseSeconds",
        ]
        /// `events` when it is a mapping.
        public static let events = ["file", "rpc", "fromBlock", "blockRange"]
        /// `contracts[]`.
        public static let contract = ["address", "template"]
        /// `operators` when it is a mapping.
        public static let operators = ["file", "source", "registry", "fromBlock", "rpc", "nodes"]
        /// `publish`.
        public static let publish = ["profile", "mode", "key", "rpc", "baseURI", "ipfs", "check", "origins", "pinWait"]
        /// `publish.ipfs[]`.
        public static let ipfsTarget = ["kubo", "bearer", "basic", "pinning", "token"]

        /// Every key path (`[]` for a list item, `ADDRESS` for an operator's address).
        public static let paths: [String] =
            top + events.map { "events.\($0)" } + contract.map { "contracts[].\($0)" }
            + operators.map { "operators.\($0)" } + OperatorsFileKeys.nodeEntry.map { "operators.nodes.ADDRESS.\($0)" }
            + publish.map { "publish.\($0)" } + ipfsTarget.map { "publish.ipfs[].\($0)" }
    }

    /// Each `KILN_*` environment variable and the kiln.yml option it overrides (docs/reference/kiln-yml.md).
    public static let environmentVariables: KeyValuePairs<String, String> = [
        "KILN_CONFIG": "the configuration file itself", "KILN_CHAIN_ID": "chainId", "KILN_STORE": "store",
        "KILN_OUT": "out",
        "KILN_EVENTS": "events (a file)", "KILN_RPC": "events (a JSON-RPC node)", "KILN_FROM_BLOCK": "events.fromBlock",
        "KILN_BLOCK_RANGE": "events.blockRange", "KILN_CONFIRMATIONS": "confirmations",
        "KILN_OPERATORS": "operators (a file)",
        "KILN_PROFILE": "publish.profile", "KILN_PUBLISH_MODE": "publish.mode", "KILN_PUBLISH_KEY_FILE": "publish.key",
        "KILN_PUBLISHER_KEY": "publish.key (the key itself, hex)", "KILN_PUBLISH_RPC": "publish.rpc",
        "KILN_CONCURRENCY": "concurrency",
        "KILN_NODE_TIMEOUT": "nodeTimeout", "KILN_LEASE_SECONDS": "leaseSeconds",
    ]

    /// Values given as flags, the strongest layer: file < environment < flags.
    public struct Overrides: Sendable {
        /// `--store`.
        public var store: String?
        /// `--out`.
        public var out: String?
        /// `--events`: read logs from this file.
        public var eventsFile: String?
        /// `--concurrency`.
        public var concurrency: Int?
        /// No flags.
        public init(store: String? = nil, out: String? = nil, eventsFile: String? = nil, concurrency: Int? = nil) {
            self.store = store
            self.out = out
            self.eventsFile = eventsFile
            self.concurrency = concurrency
        }
    }

    /// The one place configuration is resolved: kiln.yml at `path`, then the `KILN_*` variables of `environment`,
    /// then `overrides` (flags).
    /// - Throws: ``PipelineError`` (code `configuration`) naming the file, line and column, or the variable or flag.
    public static func resolve(path: String, environment: [String: String], overrides: Overrides) throws(PipelineError)
        -> Configuration
    {
        var configuration = try Configuration(path: path, environment: environment)
        if let store = overrides.store { configuration.store = store }
        if let out = overrides.out { configuration.out = out }
        if let events = overrides.eventsFile {
            configuration.eventsFile = events
            configuration.rpcURL = nil
        }
        if let concurrency = overrides.concurrency {
            guard (1...256).contains(concurrency) else {
                throw PipelineError(.configuration, "--concurrency must be 1…256, found \(concurrency)")
            }
            configuration.concurrency = concurrency
        }
        return configuration
    }

    /// Reads `path` and applies the `KILN_*` variables of `environment` (see ``environmentVariables``).
    public init(path: String, environment: [String: String]) throws(PipelineError) {
        let root: YAMLNode
        do { root = try YAMLNode.load(path) } catch {
            if !FileManager.default.fileExists(atPath: path) {
                throw PipelineError(
                    .configuration,
                    "Unable to read '\(path)': create it with the keys in docs/reference/kiln-yml.md (a sample: examples/kiln.yml)",
                    cause: error
                )
            }
            throw PipelineError(.configuration, error.description, cause: error)
        }
        try self.init(root: root, environment: environment)
    }

    /// Reads kiln.yml text as if it were the file `source` (relative paths are relative to its folder).
    public init(yaml: String, source: String, environment: [String: String] = [:]) throws(PipelineError) {
        let root: YAMLNode
        do { root = try YAMLNode.parse(yaml, file: source) } catch {
            throw PipelineError(.configuration, error.description, cause: error)
        }
        try self.init(root: root, environment: environment)
    }

    init(root: YAMLNode, environment: [String: String]) throws(PipelineError) {
        do throws(YAMLError) {
            try self.init(reading: root, environment: EnvironmentReader(environment))
        } catch {
            throw PipelineError(.configuration, error.description, cause: error)
        }
    }

    // MARK: - Reading

    private init(reading root: YAMLNode, environment: EnvironmentReader) throws(YAMLError) {
        let folder = (root.location.file as NSString).deletingLastPathComponent
        func resolve(_ path: String) -> String {
            path.hasPrefix("/") || folder.isEmpty ? path : folder + "/" + path
        }
        guard case .mapping = root.kind else { throw root.error("expected a mapping (see docs/reference/kiln-yml.md)") }
        let map = try root.fields("kiln.yml", allowed: Keys.top)
        func fileEntry(_ key: String) throws(YAMLError) -> String? {
            guard let value = map[key] else { return nil }
            if value.scalar != nil { return try value.text(key) }
            let nested = try value.fields(key, allowed: ["file"])  // a file entry: {file: PATH}
            return try nested.required("file", "a path").text("\(key).file")
        }

        var contracts: [Contract] = []
        for (index, entry) in try (map["contracts"]?.list("'contracts'") ?? []).enumerated() {
            let fields = try entry.fields("contracts[\(index)]", allowed: Keys.contract)
            let address = try fields.required("address", "the contract's 0x address").address(
                "contracts[\(index)].address"
            )
            let template = try fields.required("template", "a template folder").text("contracts[\(index)].template")
            guard !contracts.contains(where: { $0.address == address }) else {
                throw entry.error("contract \(address) is listed twice")
            }
            contracts.append(Contract(address: address, template: resolve(template)))
        }
        guard !contracts.isEmpty else {
            throw (map["contracts"] ?? root).error("'contracts' must list at least one {address, template}")
        }

        if let path = environment["KILN_OPERATORS"] {
            operatorsFile = path
        } else if let node = map["operators"], case .mapping = node.kind,
            case let operators = try node.fields(
                "operators",
                allowed: Keys.operators
            ),
            let source = operators["source"]
        {
            guard source.scalar == "chain" else {
                throw source.error("operators.source must be 'chain' (or give operators: {file: operators.yml})")
            }
            chainOperators = try Self.chainOperators(operators)
        } else {
            operatorsFile = try fileEntry("operators").map(resolve)
        }
        guard operatorsFile != nil || chainOperators != nil else {
            throw (map["operators"] ?? root).error(
                "'operators' must be {file: operators.yml} or {source: chain, registry: 0x…, nodes: {…}}"
            )
        }

        var eventsEntry: String?
        var rpcEntry: String?
        if let node = map["events"], case .mapping = node.kind,
            case let events = try node.fields("events", allowed: Keys.events),
            let rpc = events["rpc"]
        {
            if let file = events["file"] { throw file.error("events: give either rpc or file, not both") }
            rpcEntry = try rpc.url("events.rpc")
            if let value = events["fromBlock"] { fromBlock = try value.integer("events.fromBlock", in: 0...UInt64.max) }
            if let value = events["blockRange"] {
                blockRange = try value.integer("events.blockRange", in: 1...UInt64.max)
            }
        } else {
            eventsEntry = try fileEntry("events").map(resolve)
        }
        // Each value: the KILN_* variable, else kiln.yml, else the default. (Plain `if let`s: `??` would lose the
        // typed throw through its autoclosure.)
        let storeEntry = try map["store"]?.text("'store'")
        store = try environment.text("KILN_STORE") ?? resolve(storeEntry ?? "kiln-data/kiln.sqlite")
        let outEntry = try map["out"]?.text("'out'")
        out = try environment.text("KILN_OUT") ?? resolve(outEntry ?? "kiln-data/out")
        self.contracts = contracts
        // Where logs come from, strongest first: KILN_EVENTS (a file), KILN_RPC (a node), kiln.yml's events.
        let rpcOverride = try environment.url("KILN_RPC")
        if let path = try environment.text("KILN_EVENTS") {
            eventsFile = path
        } else if let url = rpcOverride ?? rpcEntry {
            rpcURL = url
        } else {
            eventsFile = eventsEntry
        }
        if let value = try environment.integer("KILN_FROM_BLOCK", in: 0...UInt64.max) { fromBlock = value }
        if let value = try environment.integer("KILN_BLOCK_RANGE", in: 1...UInt64.max) { blockRange = value }
        if let value = try map["chainId"]?.integer("'chainId'", in: 1...UInt64.max) { chainId = value }
        if let value = try environment.integer("KILN_CHAIN_ID", in: 1...UInt64.max) { chainId = value }
        if let value = try map["confirmations"]?.integer("'confirmations'", in: 0...UInt64.max) {
            confirmations = value
        }
        if let value = try environment.integer("KILN_CONFIRMATIONS", in: 0...UInt64.max) { confirmations = value }
        if let value = try map["concurrency"]?.integer("'concurrency'", in: 1...256) { concurrency = value }
        if let value = try environment.integer("KILN_CONCURRENCY", in: 1...256) { concurrency = value }
        if let value = try map["nodeTimeout"]?.seconds("'nodeTimeout'") { nodeTimeout = value }
        if let value = try environment.seconds("KILN_NODE_TIMEOUT") { nodeTimeout = value }
        if let value = try map["leaseSeconds"]?.seconds("'leaseSeconds'") { leaseSeconds = value }
        if let value = try environment.seconds("KILN_LEASE_SECONDS") { leaseSeconds = value }

        if let node = map["publish"] {
            let publish = try node.fields(
                "publish",
                allowed: Keys.publish
            )
            if let value = publish["ipfs"] {
                ipfsTargets = try value.list("publish.ipfs").enumerated().map { index, item throws(YAMLError) in
                    try IPFSTarget(yaml: item, context: "publish.ipfs[\(index)]")
                }
            }
            if let value = publish["pinWait"] { pinWait = try value.seconds("publish.pinWait") }
            if let value = publish["check"] {
                retrievalCheck = try value.url("publish.check (a trustless gateway URL)")
            }
            if let value = publish["origins"] {
                origins = try value.list("publish.origins").map { item throws(YAMLError) in
                    try item.url("publish.origins (URLs where kiln serve is reached)")
                }
            }
            if let value = publish["baseURI"] {
                let url = try value.url("publish.baseURI (the public URL of kiln serve)")
                baseURI = url.hasSuffix("/") ? url : url + "/"
            }
            if let value = publish["mode"] { publishMode = try Self.publishMode(value.scalar ?? "", at: value) }
            if let value = publish["key"] {
                publisherKeyFile = resolve(try value.text("publish.key (the path of a 0600 key file)"))
            }
            if let value = publish["rpc"] { publishRPC = try value.url("publish.rpc") }
            if let value = publish["profile"] {
                let name = try value.text("publish.profile")
                do { profile = try ImportProfile(named: name) } catch {
                    throw value.error("publish.profile: \(error.message)", cause: error)
                }
            }
        }
        if let mode = environment["KILN_PUBLISH_MODE"] { publishMode = try Self.publishMode(mode, at: nil) }
        if let path = try environment.text("KILN_PUBLISH_KEY_FILE") { publisherKeyFile = path }
        if let url = try environment.url("KILN_PUBLISH_RPC") { publishRPC = url }
        if let name = environment["KILN_PROFILE"] {
            do { profile = try ImportProfile(named: name) } catch {
                throw environment.error("KILN_PROFILE", error.message)
            }
        }

        let anchor = map["publish"] ?? root
        if publishMode != .files {
            guard chainRPC != nil else {
                throw anchor.error(
                    "publish.mode \(publishMode.rawValue) sends transactions: give publish.rpc, events.rpc or KILN_RPC"
                )
            }
            guard publisherKeyFile != nil || environment["KILN_PUBLISHER_KEY"] != nil else {
                throw anchor.error(
                    "publish.mode \(publishMode.rawValue) sends transactions: give publish.key (a 0600 key file) or KILN_PUBLISHER_KEY"
                )
            }
        }
        if chainOperators != nil && chainRPC == nil {
            throw (map["operators"] ?? root).error(
                "operators.source chain reads the registry over JSON-RPC: give operators.rpc, events.rpc or KILN_RPC"
            )
        }
    }

    private static func publishMode(_ name: String, at node: YAMLNode?) throws(YAMLError) -> PublishMode {
        guard let mode = PublishMode(rawValue: name) else {
            let message =
                "publish.mode must be one of \(PublishMode.allCases.map(\.rawValue).joined(separator: ", ")), found '\(name)'"
            throw node?.error(message)
                ?? YAMLError(
                    SourceLocation(file: "environment variable KILN_PUBLISH_MODE", line: 0, column: 0),
                    message
                )
        }
        return mode
    }

    static func chainOperators(_ map: YAMLNode.Fields) throws(YAMLError) -> ChainOperators {
        if let file = map["file"] { throw file.error("operators: a chain registry takes no 'file'") }
        let node = map.node
        guard let registryNode = map["registry"], let text = registryNode.scalar, let registry = try? Address(hex: text)
        else {
            throw (map["registry"] ?? node).error("operators.registry must be the stake registry's 0x address")
        }
        let fromBlock = try map["fromBlock"]?.integer("operators.fromBlock", in: 0...UInt64.max) ?? 0
        let rpc = try map["rpc"]?.url("operators.rpc")
        guard let list = map["nodes"], case .mapping(let pairs) = list.kind, !pairs.isEmpty else {
            throw (map["nodes"] ?? node).error(
                "operators.nodes must map each operator's 0x address to its node's URL, {url: URL, token: env:NAME} "
                    + "or {infernet: URL, container: ID} (endpoints are not on chain)"
            )
        }
        var nodes: [Address: NodeEndpoint] = [:]
        var bearers: [NodeEndpoint: String] = [:]
        for (key, value) in pairs {
            guard let text = key.scalar, let address = try? Address(hex: text) else {
                throw key.error("operators.nodes: '\(key.scalar ?? "?")' is not an address")
            }
            let context = "operators.nodes.\(text)"
            let (endpoint, token) = try value.nodeEntry(context)
            if let token {
                guard let reference = SecretReference(try token.text("\(context).token")) else {
                    throw token.error(
                        "\(context).token must name where the node's bearer token is, env:NAME or file:PATH (0600), "
                            + "never the token itself"
                    )
                }
                do throws(CryptoError) { bearers[endpoint] = try reference.value() } catch {
                    throw token.error("\(context).token: \(error.message)", cause: error)
                }
            }
            nodes[address] = endpoint
        }
        return ChainOperators(registry: registry, fromBlock: fromBlock, rpc: rpc, nodes: nodes, bearers: bearers)
    }
}

/// `KILN_*` variables, each checked like the kiln.yml value it overrides; a bad one is an error naming it.
struct EnvironmentReader {
    let values: [String: String]
    init(_ values: [String: String]) { self.values = values }

    subscript(_ name: String) -> String? { values[name] }

    func error(_ name: String, _ message: String) -> YAMLError {
        YAMLError(SourceLocation(file: "environment variable \(name)", line: 0, column: 0), message)
    }

    func text(_ name: String) throws(YAMLError) -> String? {
        guard let value = values[name] else { return nil }
        guard !value.isEmpty else { throw error(name, "must not be empty") }
        return value
    }

    func url(_ name: String) throws(YAMLError) -> String? {
        guard let value = values[name] else { return nil }
        guard let url = HTTPURL.normalized(value) else {
            throw error(name, "must be an http:// or https:// URL, found '\(value)'")
        }
        return url
    }

    func integer<T: FixedWidthInteger>(_ name: String, in range: ClosedRange<T>) throws(YAMLError) -> T? {
        guard let value = values[name] else { return nil }
        guard let number = T(value.trimmingCharacters(in: .whitespaces)), range.contains(number) else {
            let bounds = range.upperBound == T.max ? "≥ \(range.lowerBound)" : "\(range.lowerBound)…\(range.upperBound)"
            throw error(name, "must be a whole number \(bounds), found '\(value)'")
        }
        return number
    }

    func seconds(_ name: String) throws(YAMLError) -> Double? {
        guard let value = values[name] else { return nil }
        guard let number = Double(value.trimmingCharacters(in: .whitespaces)), number.isFinite, number > 0 else {
            throw error(name, "must be seconds > 0, found '\(value)'")
        }
        return number
    }
}

extension Configuration {
    /// The registry kiln.yml names: an operators file, or the on-chain registry read over ``chainRPC``.
    public func operatorRegistry() throws -> any OperatorRegistry {
        if let chain = chainOperators, let url = chainRPC {
            return ChainOperatorRegistry(
                rpc: rpc(url),
                registry: chain.registry,
                chainId: chainId,
                endpoints: chain.nodes,
                fromBlock: chain.fromBlock,
                bearers: chain.bearers
            )
        }
        guard let operatorsFile else {
            throw PipelineError("no operators: give operators: {file: …} in kiln.yml or KILN_OPERATORS")
        }
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
                throw PipelineError("KILN_PUBLISHER_KEY: \(error.message)", cause: error)
            }
        }
        guard let path = publisherKeyFile else {
            throw PipelineError("publish.mode \(publishMode.rawValue) needs publish.key or KILN_PUBLISHER_KEY")
        }
        do { return try PrivateKey(contentsOfFile: path) } catch {
            throw PipelineError("publish.key: \(error.message)", cause: error)
        }
    }
}
