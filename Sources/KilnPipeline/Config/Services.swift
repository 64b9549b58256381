// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
public import KilnAVS
internal import KilnChain
public import KilnContent
internal import KilnCore
internal import KilnCrypto
public import KilnStore

// The composition root: the one place where a Configuration becomes running services — the store, the blockstore,
// the operator registry, JSON-RPC clients, the publisher's key, and the batch runner that holds them all.
extension Configuration {
    /// Opens (and creates or migrates) the store kiln.yml names: ``PostgresStore`` for a `postgres://` URL (its
    /// password from the URL or `PGPASSWORD`), else ``SQLiteStore`` (its folder created).
    /// - Parameter longRunning: for a server or worker: a PostgreSQL pool keeps its connections open.
    public func openStore(longRunning: Bool = false) async throws -> any Store {
        if PostgresStore.isURL(store) {
            return try await PostgresStore.open(
                url: store,
                password: ProcessInfo.processInfo.environment["PGPASSWORD"],
                settings: PostgresStore.Settings(
                    poolSize: storePool,
                    statementTimeout: storeStatementTimeout.map { .milliseconds(Int64(($0 * 1000).rounded())) },
                    keepsConnections: longRunning
                )
            )
        }
        let folder = (store as NSString).deletingLastPathComponent
        if !folder.isEmpty {
            do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
                throw PipelineError(.io, "Unable to create the store's folder '\(folder)'", cause: error)
            }
        }
        return try SQLiteStore(path: store)
    }

    /// The blockstore every publication goes to: `OUT/blocks`.
    public func openBlockstore() throws(ContentError) -> FilesystemBlockstore {
        try FilesystemBlockstore(folder: out + "/blocks")
    }

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

extension BatchRunner {
    /// Opens everything `kiln.yml` names: the store, the events (a file, bad lines skipped and reported, or a
    /// JSON-RPC node), the operators and, in onchain publish modes, the transaction sender.
    /// - Parameters:
    ///   - eventsFile: read events from this file instead of kiln.yml's source.
    ///   - longRunning: for a worker: the store keeps its connections open (``Configuration/openStore(longRunning:)``).
    public static func open(
        _ configuration: Configuration,
        eventsFile: String? = nil,
        longRunning: Bool = false
    ) async throws -> BatchRunner {
        let store = try await configuration.openStore(longRunning: longRunning)
        let source: (any EventSource)?
        var problems: [Problem] = []
        if let url = configuration.rpcURL, eventsFile == nil {
            source = JSONRPCEventSource(
                rpc: configuration.rpc(url),
                contracts: configuration.contracts.map(\.address),
                confirmations: configuration.confirmations,
                fromBlock: configuration.fromBlock,
                blockRange: configuration.blockRange
            )
        } else if let file = eventsFile ?? configuration.eventsFile {
            // Only what was appended since the last batch is parsed (the store keeps how far the file was read).
            let mark = try await store.sourceMark(FileEventSource.markKey(file))
            let fileSource = try FileEventSource(path: file, skippingMalformed: true, after: mark)
            problems = fileSource.problems
            source = fileSource
        } else {
            source = nil
        }
        var runner = try BatchRunner(
            configuration: configuration,
            store: store,
            source: source,
            registry: try configuration.operatorRegistry()
        )
        runner.inputProblems = problems
        // A shared store keeps the templates' blocks too, so any machine can verify from the store alone.
        try await store.keep(runner.templateBlocks)
        if configuration.publishMode != .files, let url = configuration.chainRPC {
            let rpc = configuration.rpc(url)
            let sender = TransactionSender(
                rpc: rpc,
                chainId: configuration.chainId,
                key: try configuration.publisherKey(),
                confirmations: configuration.confirmations
            )
            var onchain = OnchainPublisher(mode: configuration.publishMode, rpc: rpc, sender: sender)
            onchain.erc7007 = configuration.erc7007
            runner.onchain = onchain
        }
        let pusher = IPFSPusher(store: store, configuration: configuration, logger: runner.logger)
        if pusher.isConfigured { runner.pusher = pusher }
        return runner
    }
}
