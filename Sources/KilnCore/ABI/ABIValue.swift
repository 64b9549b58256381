// Kiln — Apache-2.0. See LICENSE.

public import BigInt

/// A value decoded from an event log.
public enum ABIValue: Hashable, Sendable, CustomStringConvertible {
    case uint(BigUInt)
    case int(BigInt)
    case address(Address)
    case bool(Bool)
    /// The N bytes of a `bytesN`.
    case fixedBytes([UInt8])
    case bytes([UInt8])
    case string(String)
    /// An indexed `string` or `bytes`: the log holds only the Keccak-256 of the value.
    case hashed(Bytes32)

    /// The value as text: decimal numbers, `0x` hex bytes and addresses.
    public var description: String {
        switch self {
        case .uint(let value): String(value)
        case .int(let value): String(value)
        case .address(let value): value.checksummed
        case .bool(let value): String(value)
        case .fixedBytes(let value), .bytes(let value): Hex.encode(value)
        case .string(let value): value
        case .hashed(let value): value.hex
        }
    }
}
