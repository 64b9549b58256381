// Kiln — Apache-2.0. See LICENSE.

public import BigInt
public import KilnCore

/// What a mined transaction did.
public struct Receipt: Sendable, Hashable {
    public var transactionHash: Bytes32
    public var blockNumber: UInt64
    public var succeeded: Bool
    public var gasUsed: UInt64
    public var logs: [EventLog]
}

extension EthereumRPC {
    /// `eth_call` of `data` on `to` at `block` ("latest" or a number); the return data.
    public func call(to: Address, data: [UInt8], block: UInt64? = nil) async throws(ChainError) -> [UInt8] {
        let tag: JSONValue = block.map { .string(Hex.quantity($0)) } ?? "latest"
        let answer = try await client.call(
            "eth_call",
            [["to": .string(to.lowercased), "data": .string(Hex.encode(data))], tag]
        )
        return try Self.data(answer, "eth_call")
    }

    /// The next nonce of `address`, counting its pending transactions.
    public func transactionCount(_ address: Address) async throws(ChainError) -> UInt64 {
        try Self.quantity(
            try await client.call("eth_getTransactionCount", [.string(address.lowercased), "pending"]),
            "eth_getTransactionCount"
        )
    }

    public func estimateGas(from: Address, to: Address, data: [UInt8]) async throws(ChainError) -> UInt64 {
        let request: JSONValue = [
            "from": .string(from.lowercased), "to": .string(to.lowercased), "data": .string(Hex.encode(data)),
        ]
        return try Self.quantity(try await client.call("eth_estimateGas", [request]), "eth_estimateGas")
    }

    /// The tip to offer: `eth_maxPriorityFeePerGas`, or `eth_gasPrice` on nodes without it.
    public func maxPriorityFeePerGas() async throws(ChainError) -> BigUInt {
        do {
            return try Self.bigQuantity(try await client.call("eth_maxPriorityFeePerGas"), "eth_maxPriorityFeePerGas")
        } catch  where error.code != .transport {
            return try Self.bigQuantity(try await client.call("eth_gasPrice"), "eth_gasPrice")
        }
    }

    /// The latest block's base fee (0 before London).
    public func baseFeePerGas() async throws(ChainError) -> BigUInt {
        let block = try await client.call("eth_getBlockByNumber", ["latest", false])
        guard let fee = block["baseFeePerGas"] else { return 0 }
        return try Self.bigQuantity(fee, "eth_getBlockByNumber(latest).baseFeePerGas")
    }

    /// Sends a signed raw transaction; its hash.
    public func sendRawTransaction(_ raw: [UInt8]) async throws(ChainError) -> Bytes32 {
        let answer = try await client.call("eth_sendRawTransaction", [.string(Hex.encode(raw))])
        guard let text = answer.stringValue, let hash = try? Bytes32(hex: text) else {
            throw ChainError(.malformed, "eth_sendRawTransaction: expected a transaction hash, got \(answer)")
        }
        return hash
    }

    /// The receipt of `hash`, or nil while it is not mined.
    public func receipt(_ hash: Bytes32) async throws(ChainError) -> Receipt? {
        let answer = try await client.call("eth_getTransactionReceipt", [.string(hash.hex)])
        if answer == .null { return nil }
        let method = "eth_getTransactionReceipt(\(hash.hex.prefix(10))…)"
        guard let block = answer["blockNumber"], block != .null else { return nil }
        var logs: [EventLog] = []
        if case .array(let items)? = answer["logs"] {
            for item in items {
                do { logs.append(try EventLog(json: item)) } catch {
                    throw ChainError(.malformed, "\(method): a log: \(error.message)", cause: error)
                }
            }
        }
        return Receipt(
            transactionHash: hash,
            blockNumber: try Self.quantity(block, method),
            succeeded: try Self.quantity(answer["status"] ?? .null, method) == 1,
            gasUsed: try Self.quantity(answer["gasUsed"] ?? .null, method),
            logs: logs
        )
    }

    static func bigQuantity(_ value: JSONValue, _ method: String) throws(ChainError) -> BigUInt {
        guard let text = value.stringValue, let number = try? Hex.parseQuantityBig(text), number.bitWidth <= 256 else {
            throw ChainError(.malformed, "\(method): expected a hex quantity, got \(value)")
        }
        return number
    }

    static func data(_ value: JSONValue, _ method: String) throws(ChainError) -> [UInt8] {
        guard let text = value.stringValue, let bytes = try? Hex.decode(text) else {
            throw ChainError(.malformed, "\(method): expected 0x-prefixed hex data, got \(value)")
        }
        return bytes
    }
}
