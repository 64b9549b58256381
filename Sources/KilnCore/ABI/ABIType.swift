// Kiln — Apache-2.0. See LICENSE.

/// A Solidity elementary type that Kiln can decode from event logs.
///
/// `uint`/`int` are read as `uint256`/`int256`, as Solidity does when it computes a selector.
public enum ABIType: Hashable, Sendable, CustomStringConvertible {
    /// `uint8` … `uint256` (bits, a multiple of 8).
    case uint(Int)
    /// `int8` … `int256` (bits, a multiple of 8).
    case int(Int)
    case address
    case bool
    /// `bytes1` … `bytes32` (byte count).
    case fixedBytes(Int)
    /// Dynamic `bytes`.
    case bytes
    /// Dynamic `string` (UTF-8).
    case string

    /// Parses a type name such as `uint256`, `uint`, `bytes4`, `address`.
    /// - Throws: ``FormatError/Code/unsupportedType`` naming the type; arrays and tuples are not supported.
    public init(parsing name: some StringProtocol) throws(FormatError) {
        let text = String(name)
        func bits(_ suffix: Substring, _ kind: String) throws(FormatError) -> Int {
            if suffix.isEmpty { return 256 }
            guard let value = Int(suffix), value >= 8, value <= 256, value % 8 == 0, suffix.first != "0" else {
                throw FormatError(
                    .unsupportedType,
                    "Unable to parse type '\(text)': \(kind) width must be 8…256 in steps of 8"
                )
            }
            return value
        }
        if text.hasSuffix("]") || text.hasPrefix("(") || text.hasPrefix("tuple") {
            throw FormatError(
                .unsupportedType,
                "Unable to parse type '\(text)': arrays and tuples are not supported in events Kiln decodes"
            )
        }
        switch text {
        case "address": self = .address
        case "bool": self = .bool
        case "string": self = .string
        case "bytes": self = .bytes
        case _ where text.hasPrefix("uint"): self = .uint(try bits(text.dropFirst(4), "uint"))
        case _ where text.hasPrefix("int"): self = .int(try bits(text.dropFirst(3), "int"))
        case _ where text.hasPrefix("bytes"):
            let suffix = text.dropFirst(5)
            guard let count = Int(suffix), (1...32).contains(count), suffix.first != "0" else {
                throw FormatError(.unsupportedType, "Unable to parse type '\(text)': bytesN needs N from 1 to 32")
            }
            self = .fixedBytes(count)
        default:
            throw FormatError(.unsupportedType, "Unable to parse type '\(text)': unknown type")
        }
    }

    /// The canonical name used in signatures (`uint256`, never `uint`).
    public var description: String {
        switch self {
        case .uint(let bits): "uint\(bits)"
        case .int(let bits): "int\(bits)"
        case .address: "address"
        case .bool: "bool"
        case .fixedBytes(let count): "bytes\(count)"
        case .bytes: "bytes"
        case .string: "string"
        }
    }

    /// Whether values of this type are encoded out of line (and so hashed when indexed).
    public var isDynamic: Bool {
        switch self {
        case .bytes, .string: true
        default: false
        }
    }
}
