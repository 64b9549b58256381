// Kiln — Apache-2.0. See LICENSE.

/// One log as `eth_getLogs` returns it.
///
/// Read from JSON-RPC's shape with ``init(json:)``, which is strict about the fields Kiln uses and
/// tolerant of the rest (some nodes add `"type": "mined"` or leave out `removed`).
public struct EventLog: Hashable, Sendable {
    /// The contract that emitted the log.
    public var address: Address
    /// The topics; the first is the event signature's hash unless the event is anonymous.
    public var topics: [Bytes32]
    /// The non-indexed parameters, ABI-encoded.
    public var data: [UInt8]
    /// `nil` for a pending log.
    public var blockNumber: UInt64?
    /// The hash of the block holding it (nil while pending).
    public var blockHash: Bytes32?
    /// The transaction that emitted it.
    public var transactionHash: Bytes32?
    /// The transaction's index in its block.
    public var transactionIndex: UInt64?
    /// The log's index in its block.
    public var logIndex: UInt64?
    /// True when the log was removed by a chain reorganisation.
    public var removed: Bool

    /// A log from its parts.
    public init(
        address: Address,
        topics: [Bytes32],
        data: [UInt8],
        blockNumber: UInt64? = nil,
        blockHash: Bytes32? = nil,
        transactionHash: Bytes32? = nil,
        transactionIndex: UInt64? = nil,
        logIndex: UInt64? = nil,
        removed: Bool = false
    ) {
        self.address = address
        self.topics = topics
        self.data = data
        self.blockNumber = blockNumber
        self.blockHash = blockHash
        self.transactionHash = transactionHash
        self.transactionIndex = transactionIndex
        self.logIndex = logIndex
        self.removed = removed
    }

    /// Reads a JSON-RPC log object.
    /// - Throws: ``FormatError`` naming the field (`log.topics[1]: …`).
    public init(json: JSONValue) throws(FormatError) {
        guard case .object(let object) = json else {
            throw FormatError(.invalidJSON, "Unable to read log: expected a JSON object")
        }
        func field<T>(_ key: String, _ read: (String) throws(FormatError) -> T) throws(FormatError) -> T? {
            guard let value = object[key], value != .null else { return nil }
            guard case .string(let text) = value else {
                throw FormatError(.invalidJSON, "Unable to read log.\(key): expected a hex string")
            }
            do {
                return try read(text)
            } catch {
                throw error.context("Unable to read log.\(key)")
            }
        }
        func required<T>(_ key: String, _ read: (String) throws(FormatError) -> T) throws(FormatError) -> T {
            guard let value = try field(key, read) else {
                throw FormatError(.invalidJSON, "Unable to read log: missing field '\(key)'")
            }
            return value
        }
        address = try required("address") { text throws(FormatError) in try Address(hex: text) }
        data = try required("data") { text throws(FormatError) in try Hex.decode(text) }
        guard case .array(let topicValues)? = object["topics"] else {
            throw FormatError(.invalidJSON, "Unable to read log: 'topics' must be an array")
        }
        guard topicValues.count <= 4 else {
            throw FormatError(
                .topicCount,
                "Unable to read log.topics: \(topicValues.count) topics, the EVM allows at most 4"
            )
        }
        var topics: [Bytes32] = []
        for (index, value) in topicValues.enumerated() {
            guard case .string(let text) = value else {
                throw FormatError(.invalidJSON, "Unable to read log.topics[\(index)]: expected a hex string")
            }
            do {
                topics.append(try Bytes32(hex: text))
            } catch {
                throw error.context("Unable to read log.topics[\(index)]")
            }
        }
        self.topics = topics
        blockNumber = try field("blockNumber") { text throws(FormatError) in
            try Hex.parseQuantity(text, as: UInt64.self)
        }
        blockHash = try field("blockHash") { text throws(FormatError) in try Bytes32(hex: text) }
        transactionHash = try field("transactionHash") { text throws(FormatError) in try Bytes32(hex: text) }
        transactionIndex = try field("transactionIndex") { text throws(FormatError) in
            try Hex.parseQuantity(text, as: UInt64.self)
        }
        logIndex = try field("logIndex") { text throws(FormatError) in try Hex.parseQuantity(text, as: UInt64.self) }
        switch object["removed"] {
        case nil, .null?: removed = false
        case .bool(let value)?: removed = value
        default: throw FormatError(.invalidJSON, "Unable to read log.removed: expected true or false")
        }
    }

    /// The log in JSON-RPC's shape (addresses and hex in lower case).
    public var json: JSONValue {
        var object: [String: JSONValue] = [
            "address": .string(address.lowercased),
            "topics": .array(topics.map { .string($0.hex) }),
            "data": .string(Hex.encode(data)),
            "removed": .bool(removed),
        ]
        if let blockNumber { object["blockNumber"] = .string(Hex.quantity(blockNumber)) }
        if let blockHash { object["blockHash"] = .string(blockHash.hex) }
        if let transactionHash { object["transactionHash"] = .string(transactionHash.hex) }
        if let transactionIndex { object["transactionIndex"] = .string(Hex.quantity(transactionIndex)) }
        if let logIndex { object["logIndex"] = .string(Hex.quantity(logIndex)) }
        return .object(object)
    }
}
