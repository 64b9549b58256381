// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import KilnContent
internal import KilnCore
internal import KilnStore
internal import KilnYAML

// `kiln config show`: the resolved configuration, one setting per key, each with where its value came from — a flag,
// a `KILN_*` variable, kiln.yml (file:line:col) or the default — and secrets redacted.
extension Configuration {
    /// One resolved setting.
    public struct Setting: Sendable, Encodable, Equatable {
        /// The kiln.yml key path (`publish.mode`, `contracts[0].template`).
        public var key: String
        /// The value as Kiln uses it (paths resolved), secrets replaced by `***`.
        public var value: String
        /// `flag --store`, `environment KILN_STORE`, `kiln.yml:4:8` or `default`.
        public var source: String
    }

    /// The configuration `path`, `environment` and `overrides` resolve to, setting by setting.
    /// - Throws: ``PipelineError`` as ``resolve(path:environment:overrides:)`` does for a configuration that does
    ///   not load.
    public static func settings(path: String, environment: [String: String], overrides: Overrides) throws(PipelineError)
        -> [Setting]
    {
        let configuration = try resolve(path: path, environment: environment, overrides: overrides)
        let root: YAMLNode
        do { root = try YAMLNode.load(path) } catch {
            throw PipelineError(.configuration, error.description, cause: error)
        }
        return configuration.settings(root: root, environment: environment, overrides: overrides)
    }

    func settings(root: YAMLNode, environment: [String: String], overrides: Overrides) -> [Setting] {
        /// Where `dotted` is in kiln.yml (`events.rpc`, `contracts[0]`), if it is there.
        func located(_ dotted: String) -> String? {
            var node = root
            for part in dotted.split(separator: ".") {
                var name = Substring(part)
                var index: Int?
                if let open = part.firstIndex(of: "["), part.hasSuffix("]") {
                    name = part[..<open]
                    index = Int(part[part.index(after: open)..<part.index(before: part.endIndex)])
                }
                guard case .mapping(let pairs) = node.kind,
                    let value = pairs.first(where: { $0.key.scalar == String(name) })?.value
                else { return nil }
                node = value
                if let index {
                    guard case .sequence(let items) = node.kind, items.indices.contains(index) else { return nil }
                    node = items[index]
                }
            }
            return "\(node.location.file):\(node.location.line):\(node.location.column)"
        }
        var settings: [Setting] = []
        func add(
            _ key: String,
            _ value: String,
            flag: (String, Bool)? = nil,
            variables: [String] = [],
            yaml: String? = nil
        ) {
            let source: String
            if let (name, given) = flag, given {
                source = "flag \(name)"
            } else if let variable = variables.first(where: { environment[$0] != nil }) {
                source = "environment \(variable)"
            } else if let place = located(yaml ?? key) {
                source = place
            } else {
                source = "default"
            }
            settings.append(Setting(key: key, value: value, source: source))
        }
        func seconds(_ value: Double) -> String { value.rounded() == value ? "\(Int(value)) s" : "\(value) s" }

        add("chainId", "\(chainId)", variables: ["KILN_CHAIN_ID"])
        add(
            "store",
            PostgresStore.isURL(store) ? PostgresURL.redacted(store) : store,
            flag: ("--store", overrides.store != nil),
            variables: ["KILN_STORE"]
        )
        if PostgresStore.isURL(store) {
            add("storePool", "\(storePool)", variables: ["KILN_STORE_POOL"])
            add(
                "storeStatementTimeout",
                storeStatementTimeout.map(seconds) ?? "the server's",
                variables: ["KILN_STORE_STATEMENT_TIMEOUT"]
            )
            if environment["PGPASSWORD"] != nil {
                settings.append(Setting(key: "password", value: "***", source: "environment PGPASSWORD"))
            }
        }
        add("out", out, flag: ("--out", overrides.out != nil), variables: ["KILN_OUT"])
        if let eventsFile {
            add("events", eventsFile, flag: ("--events", overrides.eventsFile != nil), variables: ["KILN_EVENTS"])
        } else if let rpcURL {
            add("events.rpc", rpcURL, variables: ["KILN_RPC"])
            add("events.fromBlock", "\(fromBlock)", variables: ["KILN_FROM_BLOCK"])
            add("events.blockRange", "\(blockRange)", variables: ["KILN_BLOCK_RANGE"])
        }
        add("confirmations", "\(confirmations)", variables: ["KILN_CONFIRMATIONS"])
        for (index, contract) in contracts.enumerated() {
            add("contracts[\(index)]", "\(contract.address.checksummed) → \(contract.template)")
        }
        if let operatorsFile {
            add("operators", operatorsFile, variables: ["KILN_OPERATORS"])
        } else if let chain = chainOperators {
            add("operators.registry", chain.registry.checksummed)
            add("operators.fromBlock", "\(chain.fromBlock)")
            for (address, endpoint) in chain.nodes.sorted(by: { $0.key.checksummed < $1.key.checksummed }) {
                let token = chain.bearers[endpoint] == nil ? "" : " (bearer token ***)"
                add("operators.nodes.\(address.checksummed)", "\(endpoint)\(token)")
            }
        }
        add("publish.mode", publishMode.rawValue, variables: ["KILN_PUBLISH_MODE"])
        add("publish.manifest", manifestLayout.rawValue, variables: ["KILN_MANIFEST"])
        add("publish.profile", profile.name, variables: ["KILN_PROFILE"])
        if environment["KILN_PUBLISHER_KEY"] != nil {
            settings.append(Setting(key: "publish.key", value: "***", source: "environment KILN_PUBLISHER_KEY"))
        } else if let publisherKeyFile {
            add("publish.key", publisherKeyFile, variables: ["KILN_PUBLISH_KEY_FILE"])
        }
        if let publishRPC { add("publish.rpc", publishRPC, variables: ["KILN_PUBLISH_RPC"]) }
        if let baseURI { add("publish.baseURI", baseURI) }
        for (index, target) in ipfsTargets.enumerated() {
            add("publish.ipfs[\(index)]", target.name + " (credentials by reference, never shown)")
        }
        if let retrievalCheck { add("publish.check", retrievalCheck) }
        if !origins.isEmpty { add("publish.origins", origins.joined(separator: ", ")) }
        if !ipfsTargets.isEmpty { add("publish.pinWait", seconds(pinWait)) }
        if erc7007 { add("publish.erc7007", "true") }
        add(
            "concurrency",
            "\(concurrency)",
            flag: ("--concurrency", overrides.concurrency != nil),
            variables: ["KILN_CONCURRENCY"]
        )
        add("nodeTimeout", seconds(nodeTimeout), variables: ["KILN_NODE_TIMEOUT"])
        add("leaseSeconds", seconds(leaseSeconds), variables: ["KILN_LEASE_SECONDS"])
        return settings
    }
}
