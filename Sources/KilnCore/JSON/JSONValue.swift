// Kiln — Apache-2.0. See LICENSE.

public import BigInt

/// A JSON value that keeps integers exact at any size (token ids are uint256).
///
/// Kiln hashes JSON only through ``canonicalString`` / ``canonicalBytes``, so that equal values always give
/// equal hashes: see ``JSONValue/canonicalString`` for the rules.
public enum JSONValue: Hashable, Sendable {
    case null
    case bool(Bool)
    /// A number written without fraction or exponent, kept exact.
    case integer(BigInt)
    /// A number with a fraction or exponent; always finite.
    case decimal(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// An integer value from any machine integer.
    public static func number(_ value: some BinaryInteger) -> JSONValue { .integer(BigInt(value)) }

    /// The value for `key` when this is an object.
    public subscript(key: String) -> JSONValue? {
        if case .object(let members) = self { return members[key] }
        return nil
    }

    /// The string when this is a string.
    public var stringValue: String? {
        if case .string(let value) = self { return value }
        return nil
    }

    /// The integer when this is an integer.
    public var integerValue: BigInt? {
        if case .integer(let value) = self { return value }
        return nil
    }
}

extension JSONValue: ExpressibleByNilLiteral, ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral,
    ExpressibleByDictionaryLiteral
{
    /// `nil` is JSON `null`.
    public init(nilLiteral: ()) { self = .null }
    /// A boolean literal.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An integer literal (kept exact).
    public init(integerLiteral value: Int) { self = .integer(BigInt(value)) }
    /// A floating-point literal.
    public init(floatLiteral value: Double) { self = .decimal(value) }
    /// A string literal.
    public init(stringLiteral value: String) { self = .string(value) }
    /// An array literal.
    public init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    /// A dictionary literal (later keys win).
    public init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
}
