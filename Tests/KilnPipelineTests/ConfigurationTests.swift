import Foundation
import KilnAVS
import KilnContent
import KilnCore
import KilnInference
import KilnPipeline
import Testing

struct ConfigurationTests {
    static let minimal = """
        contracts:
          - {address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", template: templates/knights}
        operators: {file: operators.yml}
        """

    @Test func pathsAreRelativeToTheFileAndDefaultsAreSane() throws {
        let configuration = try Configuration(yaml: Self.minimal, source: "/srv/kiln/kiln.yml")
        #expect(configuration.store == "/srv/kiln/kiln-data/kiln.sqlite")
        #expect(configuration.out == "/srv/kiln/kiln-data/out")
        #expect(configuration.operatorsFile == "/srv/kiln/operators.yml")
        #expect(configuration.contracts.map(\.template) == ["/srv/kiln/templates/knights"])
        #expect(configuration.chainId == 31337 && configuration.concurrency == 4 && configuration.eventsFile == nil)
    }

    @Test func environmentOverridesTheFile() throws {
        let configuration = try Configuration(
            yaml: Self.minimal + "\nconcurrency: 2\n",
            source: "/srv/kiln/kiln.yml",
            environment: [
                "KILN_STORE": "/tmp/s.sqlite", "KILN_OUT": "o", "KILN_EVENTS": "e.jsonl", "KILN_OPERATORS": "ops.yml",
                "KILN_CONCURRENCY": "9",
            ]
        )
        #expect(
            configuration.store == "/tmp/s.sqlite" && configuration.out == "o" && configuration.eventsFile == "e.jsonl"
        )
        #expect(configuration.operatorsFile == "ops.yml" && configuration.concurrency == 9)
    }

    @Test(arguments: [
        ("colour: red\n" + minimal, "kiln.yml:1:1: unknown key 'colour' in kiln.yml; known keys: "),
        (
            "contracts:\n  - {address: \"0x12\", template: t}\noperators: {file: o.yml}",
            "kiln.yml:2:15: contracts[0].address must be a 0x address"
        ),
        (
            "contracts:\n  - {address: \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\", template: a}\n  - {address: \"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\", template: b}\noperators: {file: o.yml}",
            "kiln.yml:3:5: contract 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed is listed twice"
        ),
        ("operators: {file: o.yml}", "kiln.yml:1:1: 'contracts' must list at least one {address, template}"),
        (
            "contracts:\n  - {address: \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\", template: a}",
            "kiln.yml:1:1: 'operators' must be {file: operators.yml}"
        ),
        (minimal + "\nconcurrency: 0", "kiln.yml:4:14: 'concurrency' must be a whole number 1…256"),
        (minimal + "\nchainId: -1", "kiln.yml:4:10: 'chainId' must be a whole number ≥ 1"),
        (
            minimal + "\npublish: {mode: onchain, key: k}",
            "kiln.yml:4:10: publish.mode onchain sends transactions: give publish.rpc, events.rpc or KILN_RPC"
        ),
        (
            minimal + "\npublish: {mode: onchain, rpc: \"http://127.0.0.1:8545\"}",
            "kiln.yml:4:10: publish.mode onchain sends transactions: give publish.key"
        ),
        (
            minimal + "\npublish: {erc7007: true}",
            "kiln.yml:4:20: publish.erc7007 puts each quorum's proof on chain: it needs publish.mode onchain or onchain-base"
        ),
        (minimal + "\npublish: {erc7007: yes}", "kiln.yml:4:20: publish.erc7007 must be true or false"),
        (
            minimal + "\npublish: {mode: airdrop}",
            "kiln.yml:4:17: publish.mode must be one of files, onchain, onchain-base"
        ),
        (
            minimal + "\npublish: {manifest: split}",
            "kiln.yml:4:21: publish.manifest must be one of whole, sharded, found 'split'"
        ),
        (
            "contracts:\n  - {address: \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\", template: a}\noperators: {source: chain, registry: \"0xAB\", nodes: {}}",
            "kiln.yml:3:38: operators.registry must be the stake registry's 0x address"
        ),
        (
            "contracts:\n  - {address: \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\", template: a}\noperators: {source: chain, registry: \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\"}",
            "kiln.yml:3:12: operators.nodes must map each operator's 0x address to its node's URL"
        ),
        (
            "contracts:\n  - {address: \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\", template: a}\noperators: {source: chain, registry: \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\", nodes: {\"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\": \"http://n\"}}",
            "kiln.yml:3:12: operators.source chain reads the registry over JSON-RPC"
        ),
        (
            "contracts:\n  - {address: \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\", template: a}\noperators:\n  source: chain\n  registry: \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\"\n  nodes:\n    \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\": {infernet: \"ftp://x\", container: k}",
            "kiln.yml:7:62: operators.nodes.0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed.infernet must be an http:// or https:// URL"
        ),
        (
            "contracts:\n  - {address: \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\", template: a}\noperators:\n  source: chain\n  registry: \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\"\n  nodes:\n    \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\": {infernet: \"http://10.0.0.7:4000\"}",
            "kiln.yml:7:51: operators.nodes.0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed needs 'container'"
        ),
        (
            "contracts:\n  - {address: \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\", template: a}\noperators:\n  source: chain\n  registry: \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\"\n  nodes:\n    \"0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed\": {infernet: \"http://10.0.0.7:4000\", container: k, bearer: t}",
            "kiln.yml:7:100: unknown key 'bearer' in operators.nodes.0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
        ),
        (
            minimal + "\nstore: \"postgres://kiln:pw@db.internal/kiln?sslmode=verify-all\"",
            "kiln.yml:4:8: store: 'postgres://kiln:***@db.internal/kiln?sslmode=verify-all': sslmode=verify-all: expected one of"
        ),
        (
            minimal + "\nstore: \"postgres://kiln@db.internal/kiln?ssl=true\"",
            "kiln.yml:4:8: store: 'postgres://kiln@db.internal/kiln?ssl=true': unknown parameter 'ssl'"
        ),
        (minimal + "\nstorePool: 4", "kiln.yml:4:12: storePool applies to a PostgreSQL store; 'kiln-data/kiln.sqlite'"),
        ("- just\n- a list", "kiln.yml:1:1: expected a mapping"),
        ("key: [unclosed", "kiln.yml:2:1: YAML: did not find expected ',' or ']'"),
    ])
    func badFilesSayWhatAndWhere(yaml: String, message: String) {
        #expect(throws: PipelineError.self) { try Configuration(yaml: yaml, source: "kiln.yml") }
        do {
            _ = try Configuration(yaml: yaml, source: "kiln.yml")
        } catch {
            #expect(error.message.hasPrefix(message), "\(error.message)")
        }
    }

    /// The first lines of a kiln.yml whose operators come from a registry on chain (the tests add nodes).
    static let chainOperators = """
        contracts:
          - {address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", template: t}
        events: {rpc: "http://127.0.0.1:8545"}
        operators:
          source: chain
          registry: "0x000000000000000000000000000000000000AB1e"

        """

    @Test func chainOperatorsAndOnchainPublishing() throws {
        let yaml =
            Self.chainOperators + """
                  fromBlock: 7
                  nodes:
                    "0x00000000000000000000000000000000000000a1": "http://127.0.0.1:8101/"
                    "0x00000000000000000000000000000000000000a2": {infernet: "http://10.0.0.7:4000", container: kiln-node}
                publish: {mode: onchain-base, key: keys/publisher.key}
                """
        let configuration = try Configuration(yaml: yaml, source: "/srv/kiln.yml")
        let chain = try #require(configuration.chainOperators)
        #expect(
            chain.registry == (try Address(hex: "0x000000000000000000000000000000000000ab1e")) && chain.fromBlock == 7
        )
        #expect(
            chain.nodes == [
                try Address(hex: "0x00000000000000000000000000000000000000a1"): .kiln("http://127.0.0.1:8101"),
                try Address(hex: "0x00000000000000000000000000000000000000a2"): .infernet(
                    node: "http://10.0.0.7:4000",
                    container: "kiln-node"
                ),
            ]
        )
        #expect(
            configuration.publishMode == .onchainBase && configuration.publisherKeyFile == "/srv/keys/publisher.key"
        )
        #expect(configuration.chainRPC == "http://127.0.0.1:8545")
        let overridden = try Configuration(
            yaml: yaml,
            source: "/srv/kiln.yml",
            environment: ["KILN_OPERATORS": "ops.yml"]
        )
        #expect(
            overridden.chainOperators == nil && overridden.operatorsFile == "ops.yml",
            "KILN_OPERATORS picks a file"
        )
    }

    /// A node in `operators.nodes` that needs a bearer token names where it is; the registry hands it to the
    /// quorum round for that node only. A token written inline is refused without being echoed.
    @Test func chainOperatorNodesWithTokens() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let tokenFile = folder.appendingPathComponent("node.token").path
        _ = FileManager.default.createFile(
            atPath: tokenFile,
            contents: Data("s3cret-node-token\n".utf8),
            attributes: [.posixPermissions: 0o600]
        )
        let head =
            Self.chainOperators + """
                  nodes:
                    "0x00000000000000000000000000000000000000a1": {url: "http://127.0.0.1:8101", token: "file:\(tokenFile)"}
                    "0x00000000000000000000000000000000000000a2": {infernet: "http://10.0.0.7:4000", container: k, token: "file:\(tokenFile)"}
                    "0x00000000000000000000000000000000000000a3": "http://127.0.0.1:8103"
                """
        let configuration = try Configuration(yaml: head, source: "kiln.yml")
        let registry = try configuration.operatorRegistry()
        #expect(
            registry.bearers == [
                .kiln("http://127.0.0.1:8101"): "s3cret-node-token",
                .infernet(node: "http://10.0.0.7:4000", container: "k"): "s3cret-node-token",
            ]
        )
        let inline = head.replacingOccurrences(
            of: "file:\(tokenFile)\"}\n    \"0x00000000000000000000000000000000000000a2",
            with: "s3cret-inline\"}\n    \"0x00000000000000000000000000000000000000a2"
        )
        do {
            _ = try Configuration(yaml: inline, source: "kiln.yml")
            Issue.record("an inline token was accepted")
        } catch {
            #expect(error.message.hasPrefix("kiln.yml:8:"), "\(error.message)")
            #expect(error.message.contains("never the token itself") && !error.message.contains("s3cret-inline"))
        }
    }

    @Test func eventsFromANode() throws {
        let configuration = try Configuration(
            yaml: Self.minimal
                + "\nevents: {rpc: \"http://127.0.0.1:8545\", fromBlock: 100, blockRange: 500}\nconfirmations: 12",
            source: "/srv/kiln.yml"
        )
        #expect(configuration.rpcURL == "http://127.0.0.1:8545" && configuration.eventsFile == nil)
        #expect(configuration.fromBlock == 100 && configuration.blockRange == 500 && configuration.confirmations == 12)
        let file = try Configuration(
            yaml: Self.minimal + "\nevents: {file: e.jsonl}",
            source: "/srv/kiln.yml",
            environment: ["KILN_RPC": "https://rpc.example"]
        )
        #expect(file.rpcURL == "https://rpc.example" && file.eventsFile == nil, "KILN_RPC overrides an events file")
        #expect(throws: PipelineError.self) {
            try Configuration(yaml: Self.minimal + "\nevents: {rpc: \"ws://x\"}", source: "k.yml")
        }
        #expect(throws: PipelineError.self) {
            try Configuration(yaml: Self.minimal + "\nevents: {rpc: \"http://x\", from: 3}", source: "k.yml")
        }
    }

    @Test func everyOptionHasItsEnvironmentOverride() throws {
        let environment = [
            "KILN_CHAIN_ID": "5", "KILN_CONFIRMATIONS": "3", "KILN_CONCURRENCY": "7", "KILN_NODE_TIMEOUT": "2.5",
            "KILN_LEASE_SECONDS": "30",
            "KILN_PUBLISH_MODE": "onchain", "KILN_PUBLISH_KEY_FILE": "/k/publisher.key",
            "KILN_PUBLISH_RPC": "http://127.0.0.1:9/",
            "KILN_PROFILE": "kubo-v0", "KILN_RPC": "http://127.0.0.1:8545", "KILN_FROM_BLOCK": "11",
            "KILN_BLOCK_RANGE": "50", "KILN_MANIFEST": "sharded",
        ]
        let configuration = try Configuration(
            yaml: Self.minimal + "\nchainId: 9\nconcurrency: 2",
            source: "/srv/kiln/kiln.yml",
            environment: environment
        )
        #expect(configuration.chainId == 5 && configuration.confirmations == 3 && configuration.concurrency == 7)
        #expect(configuration.nodeTimeout == 2.5 && configuration.leaseSeconds == 30)
        #expect(configuration.publishMode == .onchain && configuration.publisherKeyFile == "/k/publisher.key")
        #expect(configuration.publishRPC == "http://127.0.0.1:9", "a trailing slash is dropped")
        #expect(configuration.manifestLayout == .sharded)
        #expect(
            configuration.profile.name == "kubo-v0" && configuration.fromBlock == 11 && configuration.blockRange == 50
        )
        // Every variable is named in the list README.md prints.
        let documented = Set(Configuration.environmentVariables.map(\.key))
        for name in environment.keys { #expect(documented.contains(name), "\(name) is documented") }
    }

    @Test(arguments: [
        (
            "KILN_CONCURRENCY", "lots",
            "environment variable KILN_CONCURRENCY: must be a whole number 1…256, found 'lots'"
        ),
        ("KILN_NODE_TIMEOUT", "-1", "environment variable KILN_NODE_TIMEOUT: must be seconds > 0, found '-1'"),
        ("KILN_RPC", "ws://x", "environment variable KILN_RPC: must be an http:// or https:// URL, found 'ws://x'"),
        (
            "KILN_PUBLISH_MODE", "airdrop",
            "environment variable KILN_PUBLISH_MODE: publish.mode must be one of files, onchain, onchain-base, found 'airdrop'"
        ),
        (
            "KILN_MANIFEST", "Sharded",
            "environment variable KILN_MANIFEST: publish.manifest must be one of whole, sharded, found 'Sharded'"
        ),
    ])
    func aBadEnvironmentVariableIsAnErrorNotIgnored(name: String, value: String, message: String) {
        do {
            _ = try Configuration(yaml: Self.minimal, source: "kiln.yml", environment: [name: value])
            Issue.record("expected an error for \(name)=\(value)")
        } catch {
            #expect(error.code == .configuration)
            #expect(error.message == message)
        }
    }

    @Test func aPostgreSQLStoreIsAURLNotAPathAndItsSettingsAreRead() throws {
        let yaml =
            Self.minimal
            + "\nstore: \"postgresql://kiln@db.internal:5433/kiln?sslmode=verify-full\"\nstorePool: 3\nstoreStatementTimeout: 30"
        let configuration = try Configuration(yaml: yaml, source: "/srv/kiln/kiln.yml")
        #expect(configuration.store == "postgresql://kiln@db.internal:5433/kiln?sslmode=verify-full", "not a path")
        #expect(configuration.storePool == 3 && configuration.storeStatementTimeout == 30)
        let overridden = try Configuration(
            yaml: yaml,
            source: "/srv/kiln/kiln.yml",
            environment: ["KILN_STORE_POOL": "12", "KILN_STORE_STATEMENT_TIMEOUT": "2.5"]
        )
        #expect(overridden.storePool == 12 && overridden.storeStatementTimeout == 2.5)
        #expect(throws: PipelineError.self) {
            try Configuration(
                yaml: Self.minimal,
                source: "kiln.yml",
                environment: ["KILN_STORE": "postgres://kiln@h/d?sslmode=on"]
            )
        }
    }

    @Test func showSaysWhereEachValueCameFromAndHidesSecrets() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-show-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("kiln.yml").path
        try (Self.minimal + "\nstore: \"postgres://kiln:hunter2@db/kiln?sslmode=require\"\nconcurrency: 2\n")
            .write(toFile: path, atomically: true, encoding: .utf8)
        let settings = try Configuration.settings(
            path: path,
            environment: ["KILN_NODE_TIMEOUT": "5", "PGPASSWORD": "also-secret", "KILN_PUBLISHER_KEY": "ab" + "12"],
            overrides: Configuration.Overrides(out: "/o")
        )
        func setting(_ key: String) -> Configuration.Setting? { settings.first { $0.key == key } }
        #expect(setting("store")?.value == "postgres://kiln:***@db/kiln?sslmode=require")
        #expect(setting("store")?.source == "\(path):4:8")
        #expect(setting("concurrency")?.value == "2" && setting("concurrency")?.source == "\(path):5:14")
        #expect(
            setting("nodeTimeout")?.value == "5 s" && setting("nodeTimeout")?.source == "environment KILN_NODE_TIMEOUT"
        )
        #expect(setting("out")?.value == "/o" && setting("out")?.source == "flag --out")
        #expect(setting("leaseSeconds")?.source == "default" && setting("storePool")?.value == "8")
        #expect(setting("password")?.value == "***" && setting("publish.key")?.value == "***")
        let everything = settings.map { "\($0.key) \($0.value) \($0.source)" }.joined(separator: "\n")
        for secret in ["hunter2", "also-secret", "ab12"] { #expect(!everything.contains(secret), "\(everything)") }
        #expect(
            setting("contracts[0]")?.value
                == "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed → \(folder.path)/templates/knights"
        )
    }

    @Test func flagsOverrideTheEnvironmentWhichOverridesTheFile() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-config-\(UUID().uuidString)")
            .path
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try Data((Self.minimal + "\nstore: file.sqlite\nconcurrency: 2").utf8).write(
            to: URL(fileURLWithPath: folder + "/kiln.yml")
        )
        let environment = ["KILN_STORE": "/env.sqlite", "KILN_CONCURRENCY": "3"]
        let fromEnvironment = try Configuration.resolve(
            path: folder + "/kiln.yml",
            environment: environment,
            overrides: .init()
        )
        #expect(fromEnvironment.store == "/env.sqlite" && fromEnvironment.concurrency == 3)
        let fromFlags = try Configuration.resolve(
            path: folder + "/kiln.yml",
            environment: environment,
            overrides: .init(store: "/flag.sqlite", eventsFile: "e.jsonl", concurrency: 4)
        )
        #expect(fromFlags.store == "/flag.sqlite" && fromFlags.concurrency == 4 && fromFlags.eventsFile == "e.jsonl")
        let fromFile = try Configuration.resolve(path: folder + "/kiln.yml", environment: [:], overrides: .init())
        #expect(fromFile.store == folder + "/file.sqlite" && fromFile.concurrency == 2)
    }

    @Test func aMissingFileSaysHowToMakeOne() {
        do {
            _ = try Configuration(path: "/nonexistent/kiln.yml", environment: [:])
            Issue.record("expected an error")
        } catch {
            #expect(
                error.message
                    == "Unable to read '/nonexistent/kiln.yml': create it with the keys in docs/reference/kiln-yml.md (a sample: examples/kiln.yml)"
            )
        }
    }
}
