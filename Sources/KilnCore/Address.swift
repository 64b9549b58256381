// Kiln — Apache-2.0. See LICENSE.

/// A 20-byte Ethereum address.
///
/// ``description`` prints the EIP-55 mixed-case checksum form. Parsing accepts all-lower and all-upper
/// case as given, and checks the checksum of mixed-case text.
public struct Address: Hashable, Comparable, Sendable, CustomStringConvertible, Codable {
    /// The 20 bytes.
    public let bytes: [UInt8]

    /// The zero address.
    public static let zero = Address(unchecked: [UInt8](repeating: 0, count: 20))

    init(unchecked bytes: [UInt8]) { self.bytes = bytes }

    /// An address from exactly 20 bytes.
    /// - Throws: ``FormatError/Code/wrongLength`` for any other length.
    public init(_ bytes: some Collection<UInt8>) throws(FormatError) {
        guard bytes.count == 20 else {
            throw FormatError(
                .wrongLength,
                "Unable to make an address from \(bytes.count) bytes: an address is 20 bytes"
            )
        }
        self.bytes = Array(bytes)
    }

    /// The address of a secp256k1 public key: the last 20 bytes of the Keccak-256 of its 64-byte `x ‖ y`.
    public init(publicKeyXY: some Collection<UInt8>) throws(FormatError) {
        guard publicKeyXY.count == 64 else {
            throw FormatError(
                .wrongLength,
                "Unable to derive an address from a \(publicKeyXY.count)-byte public key: expected 64 bytes (x ‖ y)"
            )
        }
        self.bytes = Array(Keccak256.hash(publicKeyXY).bytes[12...])
    }

    /// Parses `0x` and 40 hex digits; mixed case must carry a valid EIP-55 checksum.
    /// - Throws: ``FormatError`` with ``FormatError/Code/wrongLength``, ``FormatError/Code/invalidDigit``,
    ///   ``FormatError/Code/missingPrefix`` or ``FormatError/Code/badChecksum``.
    public init(hex text: some StringProtocol) throws(FormatError) {
        let bytes: [UInt8]
        do {
            bytes = try Hex.decode(text)
        } catch {
            throw error.context("Unable to parse address '\(Hex.preview(text))'")
        }
        guard bytes.count == 20 else {
            throw FormatError(
                .wrongLength,
                "Unable to parse address '\(Hex.preview(text))': expected 20 bytes, found \(bytes.count)"
            )
        }
        self.bytes = bytes
        let digits = text.dropFirst(2)
        // Hex digits are ASCII (Hex.decode checked): compare bytes, not Unicode case properties (a hot path when
        // a batch reads thousands of recorded logs).
        let hasLower = digits.utf8.contains { $0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f") }
        let hasUpper = digits.utf8.contains { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "F") }
        if hasLower && hasUpper {
            let expected = checksummed
            guard expected == "0x" + digits else {
                throw FormatError(
                    .badChecksum,
                    "Unable to parse address '\(text)': mixed-case checksum does not match (expected '\(expected)')"
                )
            }
        }
    }

    /// The EIP-55 checksummed form, `0x` + 40 mixed-case hex digits.
    public var checksummed: String {
        var digits = Array(Hex.encode(bytes, prefix: false).utf8)
        let hash = Keccak256.hash(digits).bytes
        // ASCII bytes, not Characters: Unicode case properties showed in profiles of the metadata API (every path names
        // a contract).
        for index in digits.indices where digits[index] >= UInt8(ascii: "a") {
            let nibble = index % 2 == 0 ? hash[index / 2] >> 4 : hash[index / 2] & 0x0f
            if nibble >= 8 { digits[index] -= 0x20 }
        }
        return "0x" + String(decoding: digits, as: UTF8.self)
    }

    /// Lower-case hex, as JSON-RPC filters and canonical JSON use it.
    public var lowercased: String { Hex.encode(bytes) }

    /// The EIP-55 checksummed form.
    public var description: String { checksummed }

    /// The address as a 32-byte ABI word (left-padded with zeros).
    public var word: Bytes32 { Bytes32(unchecked: [UInt8](repeating: 0, count: 12) + bytes) }

    /// Byte order, so sorted addresses are in the order contracts compare them.
    public static func < (lhs: Address, rhs: Address) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }

    /// Decodes from a `0x` string.
    public init(from decoder: any Decoder) throws {
        try self.init(hex: try decoder.singleValueContainer().decode(String.self))
    }
    /// Encodes as the checksummed `0x` string.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(checksummed)
    }
}
