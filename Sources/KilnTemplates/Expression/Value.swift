// Kiln — Apache-2.0. See LICENSE.

public import BigInt
public import KilnCore

/// The four types of the expression language.
public enum ValueType: String, Hashable, Sendable, CustomStringConvertible {
    case int, decimal, string, bool

    public var description: String { rawValue }
    var isNumber: Bool { self == .int || self == .decimal }

    /// The type of a Solidity event parameter when read as `event.NAME`.
    init(_ abi: ABIType) {
        switch abi {
        case .uint, .int: self = .int
        case .bool: self = .bool
        case .address, .fixedBytes, .bytes, .string: self = .string
        }
    }
}

/// A value of the expression language.
public enum Value: Hashable, Sendable, CustomStringConvertible {
    case int(BigInt)
    case decimal(Double)
    case string(String)
    case bool(Bool)

    public var type: ValueType {
        switch self {
        case .int: .int
        case .decimal: .decimal
        case .string: .string
        case .bool: .bool
        }
    }

    /// The value as `str()` and `{{…}}` print it: integers in decimal, decimals as canonical JSON does,
    /// `true`/`false`, strings as they are.
    public var description: String {
        switch self {
        case .int(let v): String(v)
        case .decimal(let v): (try? JSONValue.ecmaScriptNumber(v)) ?? "\(v)"
        case .string(let v): v
        case .bool(let v): v ? "true" : "false"
        }
    }

    /// The value in JSON (for states, inference inputs and metadata).
    public var json: JSONValue {
        switch self {
        case .int(let v): .integer(v)
        case .decimal(let v): v.rounded() == v && abs(v) < 9e15 ? .integer(BigInt(v)) : .decimal(v)
        case .string(let v): .string(v)
        case .bool(let v): .bool(v)
        }
    }

    /// A value from an event field: uint/int as integers, addresses in lower case hex, bytes as `0x…` hex.
    public init(_ abi: ABIValue) {
        switch abi {
        case .uint(let v): self = .int(BigInt(v))
        case .int(let v): self = .int(v)
        case .bool(let v): self = .bool(v)
        case .address(let a): self = .string(a.lowercased)
        case .fixedBytes(let b), .bytes(let b): self = .string(Hex.encode(b))
        case .string(let s): self = .string(s)
        case .hashed(let h): self = .string(h.hex)
        }
    }

    /// A value from JSON of the expected type, or `nil` when it does not fit.
    public init?(json: JSONValue, as type: ValueType) {
        switch (type, json) {
        case (.int, .integer(let v)): self = .int(v)
        case (.decimal, .integer(let v)): self = .decimal(Double(v))
        case (.decimal, .decimal(let v)): self = .decimal(v)
        case (.string, .string(let v)): self = .string(v)
        case (.bool, .bool(let v)): self = .bool(v)
        default: return nil
        }
    }
}
