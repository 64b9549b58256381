// Kiln — Apache-2.0. See LICENSE.

public import BigInt

/// `0x`-prefixed hexadecimal, as Ethereum's JSON-RPC writes bytes ("data") and numbers ("quantities").
///
/// Bytes are always an even number of digits; quantities are the shortest form, `0x0` for zero, with no
/// leading zeros. Parsing accepts upper- and lower-case digits and always prints lower case.
public enum Hex {
    private static let digits: [UInt8] = Array("0123456789abcdef".utf8)

    /// Prints bytes as `0x…` in lower case.
    public static func encode(_ bytes: some Sequence<UInt8>, prefix: Bool = true) -> String {
        var out: [UInt8] = prefix ? [0x30, 0x78] : []
        out.reserveCapacity(out.count + bytes.underestimatedCount * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses `0x`-prefixed hex bytes.
    ///
    /// - Parameter requirePrefix: when false, a missing `0x` is accepted too.
    /// - Throws: ``FormatError`` with ``FormatError/Code/missingPrefix``, ``FormatError/Code/oddLength`` or
    ///   ``FormatError/Code/invalidDigit`` (the message names the offending character and its position).
    public static func decode(_ text: some StringProtocol, requirePrefix: Bool = true) throws(FormatError) -> [UInt8] {
        let utf8 = Array(text.utf8)
        let start = try bodyStart(utf8, text: text, requirePrefix: requirePrefix)
        let count = utf8.count - start
        guard count % 2 == 0 else {
            throw FormatError(.oddLength, "Unable to parse hex '\(preview(text))': odd number of digits (\(count))")
        }
        var out = [UInt8]()
        out.reserveCapacity(count / 2)
        var index = start
        while index < utf8.count {
            let high = try nibble(utf8[index], at: index, in: text)
            let low = try nibble(utf8[index + 1], at: index + 1, in: text)
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    /// Parses exactly `count` bytes of `0x`-prefixed hex.
    public static func decode(_ text: some StringProtocol, count: Int) throws(FormatError) -> [UInt8] {
        let bytes = try decode(text)
        guard bytes.count == count else {
            throw FormatError(
                .wrongLength,
                "Unable to parse hex '\(preview(text))': expected \(count) bytes, found \(bytes.count)"
            )
        }
        return bytes
    }

    // MARK: - Quantities

    /// Prints a JSON-RPC quantity: `0x0`, `0x1a`, never a leading zero.
    public static func quantity(_ value: some BinaryInteger) -> String {
        if value == 0 { return "0x0" }
        return "0x" + String(value, radix: 16)
    }

    /// Parses a JSON-RPC quantity into an unsigned integer type.
    ///
    /// - Throws: ``FormatError`` for a missing prefix, no digits (`0x`), a leading zero (`0x01`), a bad digit,
    ///   or a value too large for `T` (``FormatError/Code/overflow``).
    public static func parseQuantity<T: FixedWidthInteger & UnsignedInteger>(
        _ text: some StringProtocol,
        as type: T.Type = UInt64.self
    ) throws(FormatError) -> T {
        // Up to 16 digits fit any UInt64 and smaller types are checked below: parse in place, without BigUInt
        // (block numbers and log indexes of every recorded log go through here).
        let utf8 = Array(text.utf8)
        let start = try bodyStart(utf8, text: text, requirePrefix: true)
        let count = utf8.count - start
        let result: T?
        if count > 0, count <= 16, T.bitWidth <= 64, utf8[start] != UInt8(ascii: "0") || count == 1 {
            var value: UInt64 = 0
            for index in start..<utf8.count {
                value = value << 4 | UInt64(try nibble(utf8[index], at: index, in: text))
            }
            result = T(exactly: value)
        } else {
            result = T(exactly: try parseQuantityBig(text))  // its errors (and wider types) as before
        }
        guard let result else {
            throw FormatError(
                .overflow,
                "Unable to parse quantity '\(preview(text))': it does not fit in \(T.bitWidth) bits"
            )
        }
        return result
    }

    /// Parses a JSON-RPC quantity of any size (at most 256 bits, as the EVM's words are).
    public static func parseQuantityBig(_ text: some StringProtocol) throws(FormatError) -> BigUInt {
        let utf8 = Array(text.utf8)
        let start = try bodyStart(utf8, text: text, requirePrefix: true)
        let count = utf8.count - start
        guard count > 0 else {
            throw FormatError(.empty, "Unable to parse quantity '\(preview(text))': no digits after '0x'")
        }
        if count > 1 && utf8[start] == UInt8(ascii: "0") {
            throw FormatError(.leadingZero, "Unable to parse quantity '\(preview(text))': leading zero digit")
        }
        guard count <= 64 else {
            throw FormatError(.overflow, "Unable to parse quantity '\(preview(text))': more than 256 bits")
        }
        var value = BigUInt(0)
        for index in start..<utf8.count {
            value = value << 4 | BigUInt(try nibble(utf8[index], at: index, in: text))
        }
        return value
    }

    // MARK: - Helpers

    private static func bodyStart(
        _ utf8: [UInt8],
        text: some StringProtocol,
        requirePrefix: Bool
    ) throws(FormatError) -> Int {
        if utf8.count >= 2 && utf8[0] == UInt8(ascii: "0")
            && (utf8[1] == UInt8(ascii: "x") || utf8[1] == UInt8(ascii: "X"))
        {
            return 2
        }
        if requirePrefix {
            throw FormatError(.missingPrefix, "Unable to parse hex '\(preview(text))': missing '0x' prefix")
        }
        return 0
    }

    @inline(__always)
    private static func nibble(_ char: UInt8, at index: Int, in text: some StringProtocol) throws(FormatError) -> UInt8
    {
        switch char {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return char &- UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return char &- UInt8(ascii: "a") &+ 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return char &- UInt8(ascii: "A") &+ 10
        default:
            let shown = char < 0x80 && char >= 0x20 ? "'\(Character(Unicode.Scalar(char)))'" : "byte \(char)"
            throw FormatError(
                .invalidDigit,
                "Unable to parse hex '\(preview(text))': \(shown) at offset \(index) is not a hex digit"
            )
        }
    }

    /// Text shown in an error message: long values are cut so that a hostile input can't flood a log.
    static func preview(_ text: some StringProtocol) -> String {
        text.count <= 80 ? String(text) : String(text.prefix(77)) + "…"
    }
}
