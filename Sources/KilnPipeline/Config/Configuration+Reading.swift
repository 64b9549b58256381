// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import KilnAVS
internal import KilnContent
internal import KilnCore
internal import KilnCrypto
internal import KilnInference
internal import KilnStore
internal import KilnYAML

// Decoding kiln.yml: each key read and checked where it is (`file:line:col`), each `KILN_*` variable applied over
// the value it overrides. Checks that involve several keys are in Configuration+Validation.swift.
extension Configuration {
    init(reading root: YAMLNode, environment: EnvironmentReader) throws(YAMLError) {
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
        if let url = try environment.text("KILN_STORE") {
            store = url
            try Self.checkStoreURL(url) { environment.error("KILN_STORE", $0) }
        } else if let url = storeEntry, let node = map["store"], PostgresStore.isURL(url) {
            store = url
            try Self.checkStoreURL(url) { node.error("store: \($0)") }
        } else {
            store = resolve(storeEntry ?? "kiln-data/kiln.sqlite")
        }
        if let value = try map["storePool"]?.integer("'storePool'", in: 1...1000) { storePool = value }
        if let value = try environment.integer("KILN_STORE_POOL", in: 1...1000) { storePool = value }
        if let value = try map["storeStatementTimeout"]?.seconds("'storeStatementTimeout'") {
            storeStatementTimeout = value
        }
        if let value = try environment.seconds("KILN_STORE_STATEMENT_TIMEOUT") { storeStatementTimeout = value }
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
            if let value = publish["mode"] {
                publishMode = try Self.choice(value.scalar ?? "", key: "publish.mode", at: value)
            }
            if let value = publish["manifest"] {
                manifestLayout = try Self.choice(value.scalar ?? "", key: "publish.manifest", at: value)
            }
            if let value = publish["key"] {
                publisherKeyFile = resolve(try value.text("publish.key (the path of a 0600 key file)"))
            }
            if let value = publish["rpc"] { publishRPC = try value.url("publish.rpc") }
            if let value = publish["erc7007"] { erc7007 = try value.boolean("publish.erc7007") }
            if let value = publish["profile"] {
                let name = try value.text("publish.profile")
                do { profile = try ImportProfile(named: name) } catch {
                    throw value.error("publish.profile: \(error.message)", cause: error)
                }
            }
        }
        if let mode = environment["KILN_PUBLISH_MODE"] {
            publishMode = try Self.choice(mode, key: "publish.mode", variable: "KILN_PUBLISH_MODE")
        }
        if let layout = environment["KILN_MANIFEST"] {
            manifestLayout = try Self.choice(layout, key: "publish.manifest", variable: "KILN_MANIFEST")
        }
        if let path = try environment.text("KILN_PUBLISH_KEY_FILE") { publisherKeyFile = path }
        if let url = try environment.url("KILN_PUBLISH_RPC") { publishRPC = url }
        if let name = environment["KILN_PROFILE"] {
            do { profile = try ImportProfile(named: name) } catch {
                throw environment.error("KILN_PROFILE", error.message)
            }
        }

        try validateAcrossFields(root: root, fields: map, environment: environment)
    }

    /// A PostgreSQL URL is read when the configuration is (so a wrong parameter is named with its line), not
    /// at the first batch; a SQLite path needs no check.
    static func checkStoreURL(_ url: String, failure: (String) -> YAMLError) throws(YAMLError) {
        guard PostgresStore.isURL(url) else { return }
        do { _ = try PostgresURL(parsing: url) } catch { throw failure(error.message) }
    }

    /// One of a key's named values (`publish.mode`, `publish.manifest`), from kiln.yml (`at`) or a variable.
    private static func choice<Choice: RawRepresentable & CaseIterable>(
        _ name: String,
        key: String,
        at node: YAMLNode? = nil,
        variable: String? = nil
    ) throws(YAMLError) -> Choice where Choice.RawValue == String {
        guard let value = Choice(rawValue: name) else {
            let message =
                "\(key) must be one of \(Choice.allCases.map(\.rawValue).joined(separator: ", ")), found '\(name)'"
            throw node?.error(message)
                ?? YAMLError(
                    SourceLocation(file: "environment variable \(variable ?? key)", line: 0, column: 0),
                    message
                )
        }
        return value
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
