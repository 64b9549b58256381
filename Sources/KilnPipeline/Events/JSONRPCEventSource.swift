// Kiln — Apache-2.0. See LICENSE.

public import KilnChain
public import KilnCore

/// Logs from a node's JSON-RPC: `eth_getLogs` over block ranges of the watched contracts, only up to
/// `head - confirmations`, with each range's last block hash so the next run can tell whether the chain
/// it built on is still there.
public struct JSONRPCEventSource: EventSource {
    /// The node logs are read from.
    public let rpc: EthereumRPC
    /// The contracts whose logs are asked for.
    public let contracts: [Address]
    /// Blocks below the head that are not read yet.
    public let confirmations: UInt64
    /// The first block to read when the store has no cursor yet (the collection's deployment block).
    public let fromBlock: UInt64
    /// The most blocks one `nextBatch` covers (one `eth_getLogs`, halved when the node says too many results).
    public let blockRange: UInt64

    /// A source over `rpc`, starting at `fromBlock` when the store has no cursor, `blockRange` blocks per `eth_getLogs` at most.
    public init(rpc: EthereumRPC, contracts: [Address], confirmations: UInt64, fromBlock: UInt64, blockRange: UInt64) {
        self.rpc = rpc
        self.contracts = contracts
        self.confirmations = confirmations
        self.fromBlock = fromBlock
        self.blockRange = blockRange
    }

    /// Checks that the node serves `chainId`.
    public func check(chainId: UInt64) async throws(PipelineError) {
        let served: UInt64
        do { served = try await rpc.chainId() } catch {
            throw PipelineError("\(rpc.client.url): \(error.message)", cause: error)
        }
        guard served == chainId else {
            throw PipelineError("\(rpc.client.url) serves chain \(served), but kiln.yml says chainId \(chainId)")
        }
    }

    /// With confirmations, the block read through is already below the head; without, it may be the head itself,
    /// which no registry accepts as a reference block (EigenLayer's `InvalidReferenceBlock()` for
    /// `referenceBlock >= block.number`, and an `eth_call` at the latest block runs at the head): one below it.
    public func referenceBlock(through: UInt64) -> UInt64 {
        confirmations == 0 ? max(through, 1) - 1 : through
    }

    /// Logs after `block` up to `head - confirmations` (at most `limit` blocks), with the last block's hash.
    public func lag(through: UInt64?) async throws(PipelineError) -> UInt64? {
        let head: UInt64
        do { head = try await rpc.blockNumber() } catch {
            throw PipelineError(.chain, "Unable to read the head of \(rpc.client.url)", cause: error)
        }
        return Self.lag(head: head, confirmations: confirmations, through: through)
    }

    /// Blocks between `through` and the last block confirmed enough to read (`head − confirmations`), never below
    /// 0: the one rule for the coordinator's gauge and `kiln status`.
    static func lag(head: UInt64, confirmations: UInt64, through: UInt64?) -> UInt64 {
        let safe = head > confirmations ? head - confirmations : 0
        return safe > (through ?? 0) ? safe - (through ?? 0) : 0
    }

    public func nextBatch(after block: UInt64?, limit: UInt64) async throws(PipelineError) -> (
        logs: [EventLog], through: (block: UInt64, hash: Bytes32)
    )? {
        do {
            let head = try await rpc.blockNumber()
            guard head >= confirmations else { return nil }
            let safe = head - confirmations
            let start = block.map { $0 + 1 } ?? fromBlock
            guard start <= safe else { return nil }
            let end = min(safe, start + max(1, min(limit, blockRange)) - 1)
            let logs = try await rpc.logs(addresses: contracts, from: start, to: end)
            guard let hash = try await rpc.blockHash(end) else {
                throw PipelineError("\(rpc.client.url): block \(end) vanished while reading it")
            }
            return (logs, (end, hash))
        } catch let error as ChainError {
            throw PipelineError("\(rpc.client.url): \(error.message)", cause: error)
        } catch let error as PipelineError {
            throw error
        } catch {
            throw PipelineError("\(rpc.client.url): \(error)", cause: error)
        }
    }

    /// The node's hashes of `blocks` now, in one batch (a block it no longer has is absent).
    public func currentHashes(of blocks: [UInt64]) async throws(PipelineError) -> [UInt64: Bytes32]? {
        do { return try await rpc.blockHashes(blocks) } catch {
            throw PipelineError("\(rpc.client.url): \(error.message)", cause: error)
        }
    }
}
