// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

/// The Ethereum JSON-RPC calls Kiln reads the chain with, typed and validated.
public struct EthereumRPC: Sendable {
    public var client: JSONRPCClient
    /// The most results one `eth_getLogs` may return before the range is halved (many nodes refuse 10 000).
    public var maxLogsPerCall = 10_000

    public init(client: JSONRPCClient) { self.client = client }
    public init(url: String) { client = JSONRPCClient(url: url) }

    public func chainId() async throws(ChainError) -> UInt64 {
        try Self.quantity(try await client.call("eth_chainId"), "eth_chainId")
    }

    public func blockNumber() async throws(ChainError) -> UInt64 {
        try Self.quantity(try await client.call("eth_blockNumber"), "eth_blockNumber")
    }

    /// The hash of block `number` on the node's current chain, or nil when it has no such block.
    public func blockHash(_ number: UInt64) async throws(ChainError) -> Bytes32? {
        try Self.hash(
            of: try await client.call("eth_getBlockByNumber", [.string(Hex.quantity(number)), false]),
            number: number
        )
    }

    /// Hashes of several blocks in one batch request.
    public func blockHashes(_ numbers: [UInt64]) async throws(ChainError) -> [UInt64: Bytes32] {
        let answers = try await client.batch(
            numbers.map { ("eth_getBlockByNumber", [.string(Hex.quantity($0)), false]) }
        )
        var hashes: [UInt64: Bytes32] = [:]
        for (number, block) in zip(numbers, answers) { hashes[number] = try Self.hash(of: block, number: number) }
        return hashes
    }

    /// The hash in an `eth_getBlockByNumber(number)` answer (nil for `null`: no such block), checking it is that block.
    public static func hash(of block: JSONValue, number: UInt64) throws(ChainError) -> Bytes32? {
        if block == .null { return nil }
        guard let text = block["hash"]?.stringValue, let hash = try? Bytes32(hex: text) else {
            throw ChainError(.malformed, "eth_getBlockByNumber(\(number)): no block hash in the answer")
        }
        if let reported = block["number"]?.stringValue, (try? Hex.parseQuantity(reported)) != number {
            throw ChainError(.malformed, "eth_getBlockByNumber(\(number)): the node answered with block \(reported)")
        }
        return hash
    }

    /// The logs of `addresses` in blocks `from…to`, asking for smaller ranges when the node says a range has
    /// too many results. Every log is validated (a hostile answer is an error naming the log).
    public func logs(addresses: [Address], from: UInt64, to: UInt64) async throws(ChainError) -> [EventLog] {
        guard from <= to else { return [] }
        let filter: JSONValue = [
            "address": .array(addresses.map { .string($0.lowercased) }), "fromBlock": .string(Hex.quantity(from)),
            "toBlock": .string(Hex.quantity(to)),
        ]
        func halves() async throws(ChainError) -> [EventLog] {
            let middle = from + (to - from) / 2
            return try await self.logs(addresses: addresses, from: from, to: middle)
                + self.logs(addresses: addresses, from: middle + 1, to: to)
        }
        let answer: JSONValue
        do {
            answer = try await client.call("eth_getLogs", [filter])
        } catch  where Self.isTooManyResults(error) && from < to {
            return try await halves()
        }
        if case .array(let items) = answer, items.count > maxLogsPerCall && from < to { return try await halves() }
        return try Self.logs(in: answer, addresses: addresses, from: from, to: to)
    }

    /// The logs in an `eth_getLogs` answer for `addresses` in blocks `from…to`, each validated, in chain order.
    public static func logs(in answer: JSONValue, addresses: [Address], from: UInt64, to: UInt64) throws(ChainError)
        -> [EventLog]
    {
        guard from <= to else { throw ChainError(.malformed, "eth_getLogs(\(from)…\(to)): an empty block range") }
        guard case .array(let items) = answer else {
            throw ChainError(.malformed, "eth_getLogs(\(from)…\(to)): the answer is not an array")
        }
        var logs: [EventLog] = []
        logs.reserveCapacity(items.count)
        let wanted = Set(addresses)
        for (index, item) in items.enumerated() {
            let log: EventLog
            do { log = try EventLog(json: item) } catch {
                throw ChainError(.malformed, "eth_getLogs(\(from)…\(to)): log \(index): \(error.message)", cause: error)
            }
            guard let block = log.blockNumber, log.blockHash != nil, log.logIndex != nil, (from...to).contains(block)
            else {
                throw ChainError(
                    .malformed,
                    "eth_getLogs(\(from)…\(to)): log \(index) lacks a block number, hash or index in the range asked"
                )
            }
            guard wanted.contains(log.address) else {
                throw ChainError(
                    .malformed,
                    "eth_getLogs(\(from)…\(to)): log \(index) is of \(log.address.checksummed), which was not asked for"
                )
            }
            logs.append(log)
        }
        return logs.sorted { ($0.blockNumber!, $0.logIndex!) < ($1.blockNumber!, $1.logIndex!) }
    }

    /// Whether a node refused `eth_getLogs` for returning too much (geth, Erigon, Infura, Alchemy phrase it differently).
    static func isTooManyResults(_ error: ChainError) -> Bool {
        guard let code = error.code.rpcCode else { return false }
        let text = error.message.lowercased()
        return code == -32005 || text.contains("too many") || text.contains("more than")
            || text.contains("limit exceeded")
            || text.contains("range") && text.contains("large")
    }

    /// A hex quantity answered by `method`.
    public static func quantity(_ value: JSONValue, _ method: String) throws(ChainError) -> UInt64 {
        guard let text = value.stringValue, let number = try? Hex.parseQuantity(text, as: UInt64.self) else {
            throw ChainError(.malformed, "\(method): expected a hex quantity, got \(value)")
        }
        return number
    }
}
