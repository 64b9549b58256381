// Kiln — Apache-2.0. See LICENSE.

internal import KilnAVS

// The tables users see documented (docs/reference/kiln-yml.md, compared both ways by ReferenceDocsTests): every
// kiln.yml key, every `KILN_*` variable, the flags that override both, and the one function that layers them
// (file < environment < flags).
extension Configuration {
    /// The keys kiln.yml accepts, one list per mapping: the reader checks each mapping against its list, and
    /// ``paths`` names them all as the reference page does (docs/reference/kiln-yml.md; a test compares the two).
    public enum Keys {
        /// The top level.
        public static let top = [
            "chainId", "store", "out", "events", "confirmations", "contracts", "operators", "publish", "concurrency",
            "nodeTimeout", "leaseSeconds", "storePool", "storeStatementTimeout",
        ]
        /// `events` when it is a mapping.
        public static let events = ["file", "rpc", "fromBlock", "blockRange"]
        /// `contracts[]`.
        public static let contract = ["address", "template"]
        /// `operators` when it is a mapping.
        public static let operators = ["file", "source", "registry", "fromBlock", "rpc", "nodes"]
        /// `publish`.
        public static let publish = [
            "profile", "mode", "manifest", "key", "rpc", "baseURI", "ipfs", "check", "origins", "pinWait", "erc7007",
        ]
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
        "KILN_PROFILE": "publish.profile", "KILN_PUBLISH_MODE": "publish.mode", "KILN_MANIFEST": "publish.manifest",
        "KILN_PUBLISH_KEY_FILE": "publish.key",
        "KILN_PUBLISHER_KEY": "publish.key (the key itself, hex)", "KILN_PUBLISH_RPC": "publish.rpc",
        "KILN_CONCURRENCY": "concurrency",
        "KILN_NODE_TIMEOUT": "nodeTimeout", "KILN_LEASE_SECONDS": "leaseSeconds", "KILN_STORE_POOL": "storePool",
        "KILN_STORE_STATEMENT_TIMEOUT": "storeStatementTimeout",
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
}
