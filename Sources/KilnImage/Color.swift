// Kiln — Apache-2.0. See LICENSE.

/// An 8-bit straight-alpha colour, as creators write it (`#rrggbb` or `#rrggbbaa`).
public struct Color: Hashable, Sendable, CustomStringConvertible {
    public var red: UInt8
    public var green: UInt8
    public var blue: UInt8
    public var alpha: UInt8

    public init(red: UInt8, green: UInt8, blue: UInt8, alpha: UInt8 = 255) {
        self.red = red
        self.green = green
        self.blue = blue
        self.alpha = alpha
    }

    public static let black = Color(red: 0, green: 0, blue: 0)
    public static let white = Color(red: 255, green: 255, blue: 255)
    public static let clear = Color(red: 0, green: 0, blue: 0, alpha: 0)

    /// Parses `#rgb`, `#rrggbb` or `#rrggbbaa` (the `#` is optional).
    /// - Throws: ``ImageError/Code/invalidArgument`` naming the text.
    public init(hex text: String) throws(ImageError) {
        var digits = Substring(text)
        if digits.hasPrefix("#") { digits = digits.dropFirst() }
        if digits.count == 3 { digits = Substring(digits.flatMap { [$0, $0] }) }
        guard digits.count == 6 || digits.count == 8, let value = UInt32(digits, radix: 16),
            digits.allSatisfy(\.isHexDigit)
        else {
            throw ImageError(.invalidArgument, "Unable to parse colour '\(text)': expected #rgb, #rrggbb or #rrggbbaa")
        }
        let full = digits.count == 6 ? value << 8 | 0xFF : value
        self.init(
            red: UInt8(full >> 24),
            green: UInt8(full >> 16 & 0xFF),
            blue: UInt8(full >> 8 & 0xFF),
            alpha: UInt8(full & 0xFF)
        )
    }

    /// `#rrggbb`, or `#rrggbbaa` when not opaque.
    public var description: String {
        let parts = alpha == 255 ? [red, green, blue] : [red, green, blue, alpha]
        return "#" + parts.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }

    /// The premultiplied pixel `(r·a, g·a, b·a, a)`, rounded.
    var premultiplied: (UInt8, UInt8, UInt8, UInt8) {
        let a = UInt32(alpha)
        return (div255(UInt32(red) * a), div255(UInt32(green) * a), div255(UInt32(blue) * a), alpha)
    }
}

/// `x / 255` rounded to nearest (halves up), exact for every `x` in `0…255·255·2` — the arithmetic every
/// pixel operation in Kiln uses, so results are identical on every CPU.
@inline(__always)
func div255(_ x: UInt32) -> UInt8 {
    let t = x &+ 128
    return UInt8(truncatingIfNeeded: (t &+ (t >> 8)) >> 8)
}

/// The same for a 32-bit signed numerator known to be in `0…255·255·2`.
@inline(__always)
func div255(_ x: Int32) -> UInt8 { div255(UInt32(bitPattern: x)) }
