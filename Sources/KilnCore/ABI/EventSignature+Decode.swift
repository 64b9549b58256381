// Kiln — Apache-2.0. See LICENSE.

internal import BigInt

/// An event log decoded into named values, in declaration order.
public struct DecodedEvent: Hashable, Sendable {
    /// One decoded parameter.
    public struct Field: Hashable, Sendable {
        /// The parameter's name.
        public var name: String
        /// Its type.
        public var type: ABIType
        /// Whether it came from a topic.
        public var indexed: Bool
        /// Its value (for an indexed dynamic type, the hash the topic holds).
        public var value: ABIValue
    }

    /// The event the log was decoded as.
    public var signature: EventSignature
    /// Every parameter, in declaration order.
    public var fields: [Field]

    /// The value of the parameter called `name`.
    public subscript(name: String) -> ABIValue? {
        fields.first { $0.name == name }?.value
    }
}

extension EventSignature {
    /// Decodes `log` as this event: indexed parameters from topics 1…3, the rest from `data`.
    ///
    /// Indexed `string` and `bytes` come back as ``ABIValue/hashed(_:)``, since the log holds only their hash.
    /// - Throws: ``FormatError`` naming the parameter and the reason: a topic0 or topic-count mismatch, data
    ///   shorter than a value, an offset or length out of range, bad padding, or invalid UTF-8.
    public func decode(_ log: EventLog) throws(FormatError) -> DecodedEvent {
        let indexedCount = parameters.lazy.filter(\.indexed).count
        guard log.topics.count == indexedCount + 1 else {
            throw FormatError(
                .topicCount,
                "Unable to decode log as '\(canonical)': expected \(indexedCount + 1) topics, found \(log.topics.count)"
            )
        }
        guard log.topics[0] == topic0 else {
            throw FormatError(
                .topicMismatch,
                "Unable to decode log as '\(canonical)': topic0 is \(log.topics[0].hex), expected \(topic0.hex)"
            )
        }
        var fields: [DecodedEvent.Field] = []
        fields.reserveCapacity(parameters.count)
        var topicIndex = 1
        var headIndex = 0
        let reader = ABIDataReader(data: log.data, event: canonical)
        for parameter in parameters {
            let value: ABIValue
            if parameter.indexed {
                let topic = log.topics[topicIndex]
                topicIndex += 1
                value =
                    parameter.type.isDynamic
                    ? .hashed(topic)
                    : try ABIDataReader.decodeStatic(
                        topic.bytes[...],
                        as: parameter.type,
                        field: parameter.name,
                        event: canonical
                    )
            } else {
                value = try reader.decode(headIndex: headIndex, as: parameter.type, field: parameter.name)
                headIndex += 1
            }
            fields.append(.init(name: parameter.name, type: parameter.type, indexed: parameter.indexed, value: value))
        }
        return DecodedEvent(signature: self, fields: fields)
    }
}

/// Reads ABI-encoded values from a log's data, checking every bound before it reads.
struct ABIDataReader {
    let data: [UInt8]
    let event: String

    private func fail(_ code: FormatError.Code, _ field: String, _ message: String) -> FormatError {
        FormatError(code, "Unable to decode '\(field)' of '\(event)': \(message)")
    }

    /// The 32-byte word at `offset`, or an error naming `field`.
    private func word(at offset: Int, field: String, what: String) throws(FormatError) -> ArraySlice<UInt8> {
        guard offset >= 0, offset <= data.count - 32 else {
            throw fail(
                .shortData,
                field,
                "\(what) needs bytes \(offset)..<\(offset + 32) but data has \(data.count) bytes"
            )
        }
        return data[offset..<offset + 32]
    }

    func decode(headIndex: Int, as type: ABIType, field: String) throws(FormatError) -> ABIValue {
        let head = try word(at: headIndex * 32, field: field, what: "its head word")
        guard type.isDynamic else {
            return try Self.decodeStatic(head, as: type, field: field, event: event)
        }
        let offset = try smallInteger(head, field: field, what: "offset")
        guard offset <= data.count - 32 else {
            throw fail(.offsetOutOfRange, field, "offset \(offset) points past the data (\(data.count) bytes)")
        }
        let length = try smallInteger(
            try word(at: offset, field: field, what: "its length word"),
            field: field,
            what: "length"
        )
        let start = offset + 32
        guard length <= data.count - start else {
            throw fail(
                .offsetOutOfRange,
                field,
                "length \(length) at offset \(offset) runs past the data (\(data.count) bytes)"
            )
        }
        let bytes = Array(data[start..<start + length])
        let padded = (length + 31) / 32 * 32
        guard padded <= data.count - start else {
            throw fail(.shortData, field, "its \(length) bytes are not padded to a 32-byte boundary")
        }
        guard data[(start + length)..<(start + padded)].allSatisfy({ $0 == 0 }) else {
            throw fail(.invalidValue, field, "non-zero padding after its \(length) bytes")
        }
        if case .string = type {
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw fail(.invalidUTF8, field, "the string is not valid UTF-8")
            }
            return .string(text)
        }
        return .bytes(bytes)
    }

    /// An offset or length word as an `Int`; anything that can't index the data is out of range.
    private func smallInteger(_ word: ArraySlice<UInt8>, field: String, what: String) throws(FormatError) -> Int {
        guard word.prefix(28).allSatisfy({ $0 == 0 }) else {
            throw fail(.offsetOutOfRange, field, "\(what) \(Hex.encode(word)) is out of range")
        }
        return word.suffix(4).reduce(0) { $0 << 8 | Int($1) }
    }

    /// Decodes a static value from one word (a topic or a head word).
    static func decodeStatic(
        _ word: ArraySlice<UInt8>,
        as type: ABIType,
        field: String,
        event: String
    ) throws(FormatError) -> ABIValue {
        func fail(_ message: String) -> FormatError {
            FormatError(.invalidValue, "Unable to decode '\(field)' of '\(event)': \(message)")
        }
        let bytes = Array(word)
        switch type {
        case .uint(let bits):
            let pad = (256 - bits) / 8
            guard bytes.prefix(pad).allSatisfy({ $0 == 0 }) else {
                throw fail("value \(Hex.encode(bytes)) does not fit in uint\(bits)")
            }
            return .uint(BigUInt(bigEndian: bytes))
        case .int(let bits):
            let pad = (256 - bits) / 8
            let negative = bytes[pad] & 0x80 != 0
            guard bytes.prefix(pad).allSatisfy({ $0 == (negative ? 0xFF : 0x00) }) else {
                throw fail("value \(Hex.encode(bytes)) is not a sign-extended int\(bits)")
            }
            let magnitude = BigUInt(bigEndian: bytes)
            return .int(negative ? BigInt(magnitude) - (BigInt(1) << 256) : BigInt(magnitude))
        case .address:
            guard bytes.prefix(12).allSatisfy({ $0 == 0 }) else {
                throw fail("value \(Hex.encode(bytes)) has non-zero bytes above the 20-byte address")
            }
            return .address(Address(unchecked: Array(bytes[12...])))
        case .bool:
            guard bytes.prefix(31).allSatisfy({ $0 == 0 }), bytes[31] <= 1 else {
                throw fail("value \(Hex.encode(bytes)) is not a bool (0 or 1)")
            }
            return .bool(bytes[31] == 1)
        case .fixedBytes(let count):
            guard bytes[count...].allSatisfy({ $0 == 0 }) else {
                throw fail("value \(Hex.encode(bytes)) has non-zero padding after its \(count) bytes")
            }
            return .fixedBytes(Array(bytes.prefix(count)))
        case .bytes, .string:
            return .hashed(try! Bytes32(bytes))
        }
    }
}
