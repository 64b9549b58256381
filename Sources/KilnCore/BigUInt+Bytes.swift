// Kiln — Apache-2.0. See LICENSE.

public import BigInt

extension BigUInt {
    /// The number whose big-endian bytes are `bytes` (any length; empty is zero).
    public init(bigEndian bytes: some Collection<UInt8>) {
        self = Array(bytes).withUnsafeBytes { BigUInt($0) }
    }

    /// The number as exactly `count` big-endian bytes, or `nil` when it does not fit.
    public func bigEndianBytes(count: Int = 32) -> [UInt8]? {
        guard bitWidth <= count * 8 else { return nil }
        var out = [UInt8](repeating: 0, count: count)
        var value = self
        var index = count - 1
        while value > 0 && index >= 0 {
            out[index] = UInt8(truncatingIfNeeded: value.words.first ?? 0)
            value >>= 8
            index -= 1
        }
        return out
    }
}
