// Kiln — Apache-2.0. See LICENSE.

internal import KilnAVS
internal import KilnChain
public import KilnContent
internal import KilnCore
internal import KilnStore

extension Verifier {
    /// What `kiln verify` was asked: a target and where to find the blocks, logs and operators.
    public struct Target: Sendable {
        /// A metadata.json or token-directory CID, or a token `CONTRACT:ID` (or `ID` with one contract).
        public var target: String
        /// CAR files with the published blocks.
        public var cars: [String] = []
        /// A blockstore folder with the published blocks.
        public var blocks: String?
        /// Files of the chain's logs (eth_getLogs JSON lines) to fold the state from, in chain order.
        public var events: [String] = []
        /// An operators file to compare the bundle's stake table with.
        public var operators: String?
        /// kiln.yml, when there is one: token targets are looked up in its store, and its blocks, logs and
        /// operators are the defaults.
        public var configuration: Configuration?

        /// A target with no blocks, logs or operators given yet.
        public init(_ target: String, configuration: Configuration?) {
            self.target = target
            self.configuration = configuration
        }
    }

    /// The verifier for `target` and the metadata (or token directory) CID to verify.
    /// - Throws: ``PipelineError``: a target that is neither a CID nor a token, a token never published, no blocks.
    public static func open(_ target: Target) async throws -> (verifier: Verifier, cid: CID) {
        var layers: [any Blockstore] = []
        for path in target.cars {
            do { layers.append(try MemoryBlockstore(car: path)) } catch {
                throw PipelineError(.input, "\(path): \(error.message)", cause: error)
            }
        }
        if let blocks = target.blocks { layers.append(try FilesystemBlockstore(folder: blocks)) }
        var logs: [EventLog]?
        if !target.events.isEmpty {
            logs = try target.events.flatMap { path throws(PipelineError) in try FileEventSource(path: path).logs }
        }
        var registry: (any OperatorRegistry)? = try target.operators.map { path throws(AVSError) in
            try FileOperatorRegistry(path: path)
        }
        let cid: CID
        var token: TokenKey?
        var logStore: (any ChainStore)?
        if let parsed = try? CID(target.target) {
            cid = parsed
            if layers.isEmpty, let configuration = target.configuration {
                layers.append(try configuration.openBlockstore())
            }
        } else {
            guard let configuration = target.configuration else {
                throw PipelineError(
                    .configuration,
                    "'\(target.target)' is not a CID, and there is no kiln.yml to look a token up in"
                )
            }
            guard let named = configuration.token(target.target) else {
                throw PipelineError(.input, "'\(target.target)' is neither a CID nor a token CONTRACT:ID")
            }
            token = named
            let store = try await configuration.openStore()
            let publication = try await configuration.publication(of: named, in: store)
            cid = try CID(publication.metadata)
            // The token's own logs, read by the verifier once it knows the template (not every log of the contract).
            if logs == nil { logStore = store }
            if registry == nil { registry = try configuration.operatorRegistry() }
            let local = try configuration.openBlockstore()
            // A store shared by several workers keeps the blocks: copy what this machine lacks first.
            try await SharedBlocks.fetch(publications: [publication], from: store, into: local)
            layers.append(local)
        }
        guard !layers.isEmpty else {
            throw PipelineError(.configuration, "Give the published blocks with --car FILE or --blocks DIR")
        }
        var verifier = Verifier(blockstore: LayeredBlockstore(layers), logs: logs, registry: registry)
        verifier.logStore = logStore
        verifier.expectedToken = token
        if let configuration = target.configuration, configuration.erc7007, let url = configuration.chainRPC,
            let token
        {
            // ERC-7007: the contract's AIGC logs as the chain has them now (the store reads them a batch later).
            let rpc = EthereumRPC(url: url)
            do throws(ChainError) {
                let head = try await rpc.blockNumber()
                verifier.aigcLogs = try await rpc.logs(
                    addresses: [token.contract],
                    from: configuration.fromBlock,
                    to: head
                )
            } catch {
                throw PipelineError("\(url): unable to read the token's ERC-7007 logs: \(error.message)", cause: error)
            }
        }
        return (verifier, cid)
    }
}
