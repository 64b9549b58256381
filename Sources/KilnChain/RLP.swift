// Kiln — Apache-2.0. See LICENSE.

public import BigInt

/// Recursive Length Prefix encoding (Ethereum Yellow Paper, appendix B): what transactions are signed and sent as.
public enum RLP: Hashable, Sendable {
    case bytes([UInt8])
    case list([RLP])

    /// A scalar: big-endian with no leading zeros (zero is the empty string).
    public static func uint(_ value: BigUInt) -> RLP {
        let bytes = value.serialize()
        return .bytes(Array(bytes.drop { $0 == 0 }))
    }

    public static func uint(_ value: UInt64) -> RLP { uint(BigUInt(value)) }

    public var encoded: [UInt8] {
        switch self {
        case .bytes(let bytes):
            if bytes.count == 1 && bytes[0] < 0x80 { return bytes }
            return Self.prefix(bytes.count, short: 0x80) + bytes
        case .list(let items):
            let body = items.flatMap(\.encoded)
            return Self.prefix(body.count, short: 0xC0) + body
        }
    }

    /// The length prefix: one byte below 56, else the length of the length, then the length.
    private static func prefix(_ length: Int, short: UInt8) -> [UInt8] {
        if length < 56 { return [short + UInt8(length)] }
        let lengthBytes = Array(BigUInt(length).serialize().drop { $0 == 0 })
        return [short + 55 + UInt8(lengthBytes.count)] + lengthBytes
    }
}
