// Kiln — Apache-2.0. See LICENSE.

/// Exactly 32 bytes: a Keccak-256 digest, an EVM word, a job or model id.
///
/// Printed and parsed as `0x` followed by 64 hex digits.
public struct Bytes32: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The bytes, stored in memory order.
    private var storage: (UInt64, UInt64, UInt64, UInt64)

    /// All zero.
    public static let zero = Bytes32(storage: (0, 0, 0, 0))

    private init(storage: (UInt64, UInt64, UInt64, UInt64)) { self.storage = storage }

    /// Makes a value from four lanes whose bytes are in little-endian order (as Keccak squeezes them).
    init(littleEndianWords a: UInt64, _ b: UInt64, _ c: UInt64, _ d: UInt64) {
        storage = (a.littleEndian, b.littleEndian, c.littleEndian, d.littleEndian)
    }

    /// Makes a value from exactly 32 bytes.
    /// - Throws: ``FormatError/Code/wrongLength`` when `bytes` is not 32 bytes long.
    public init(_ bytes: some Collection<UInt8>) throws(FormatError) {
        guard bytes.count == 32 else {
            throw FormatError(.wrongLength, "Unable to make a 32-byte value from \(bytes.count) bytes")
        }
        self.init(unchecked: Array(bytes))
    }

    /// Makes a value from a 32-byte array the caller has checked.
    init(unchecked bytes: [UInt8]) {
        storage = (0, 0, 0, 0)
        withUnsafeMutableBytes(of: &storage) { $0.copyBytes(from: bytes) }
    }

    /// Parses `0x` and 64 hex digits.
    public init(hex: some StringProtocol) throws(FormatError) {
        self.init(unchecked: try Hex.decode(hex, count: 32))
    }

    /// A 32-byte big-endian word holding `value`, as the ABI encodes a `uint256`.
    public init(word value: UInt64) {
        storage = (0, 0, 0, value.bigEndian)
    }

    /// The 32 bytes.
    public var bytes: [UInt8] { Swift.withUnsafeBytes(of: storage) { Array($0) } }

    /// Calls `body` with the 32 bytes, without copying them.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try Swift.withUnsafeBytes(of: storage, body)
    }

    /// `0x` followed by 64 lower-case hex digits.
    public var hex: String { Hex.encode(bytes) }
    /// `0x` and 64 lowercase hex digits.
    public var description: String { hex }

    /// Byte-wise equality.
    public static func == (lhs: Bytes32, rhs: Bytes32) -> Bool {
        lhs.storage.0 == rhs.storage.0 && lhs.storage.1 == rhs.storage.1
            && lhs.storage.2 == rhs.storage.2 && lhs.storage.3 == rhs.storage.3
    }
    /// Hashes the bytes.
    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes { hasher.combine(bytes: $0) }
    }
    /// Byte-wise order, the order of the big-endian numbers the words stand for.
    public static func < (lhs: Bytes32, rhs: Bytes32) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    /// Decodes from a `0x` hex string of 32 bytes.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        try self.init(hex: text)
    }
    /// Encodes as ``hex``.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}
