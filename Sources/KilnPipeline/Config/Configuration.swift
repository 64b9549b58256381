// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import KilnAVS
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
    /// The store (`store`, `KILN_STORE`, `--store`): a SQLite file, or a PostgreSQL URL.
    public var store: String
    /// The most connections a PostgreSQL store's pool opens (`storePool`, `KILN_STORE_POOL`).
    public var storePool = 8
    /// Seconds after which PostgreSQL cancels a statement (`storeStatementTimeout`, `KILN_STORE_STATEMENT_TIMEOUT`);
    /// nil leaves the server's setting.
    public var storeStatementTimeout: Double?
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
    /// The watched contracts are ERC-7007 tokens that verify Kiln quorums (`publish.erc7007`; an on-chain mode):
    /// each publication's (prompt, output hash, quorum proof) goes on chain (`addAigcData`, then `stageUpdate` and
    /// `update`), and metadata gains `prompt`, `aigc_type`, `aigc_data` and `proof_type`.
    public var erc7007 = false
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
    /// How `manifest.json` lists the published tokens (`publish.manifest`, `KILN_MANIFEST`).
    public var manifestLayout: ManifestLayout = .whole
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

    /// How `manifest.json` lists every published token.
    public enum ManifestLayout: String, Sendable, CaseIterable {
        /// In itself: one file, which every batch that publishes writes again (merging the tokens it changed).
        case whole
        /// In 256 files under `manifest/`, each token in the one the first byte of SHA-256 of its key names;
        /// `manifest.json` says so. A batch writes only the files its tokens are in (``ManifestShards``).
        case sharded
    }

    /// The node registry reads and transactions use: `publish.rpc`, the registry's own `rpc`, or the events' node.
    public var chainRPC: String? { publishRPC ?? chainOperators?.rpc ?? rpcURL }

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
}
