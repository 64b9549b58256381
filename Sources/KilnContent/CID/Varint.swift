// Kiln — Apache-2.0. See LICENSE.

/// Unsigned varints as multiformats define them: LEB128, at most 9 bytes (63 bits), minimally encoded.
public enum Varint {
    /// Appends the varint of `value` to `out`.
    public static func encode(_ value: UInt64, into out: inout [UInt8]) {
        var value = value
        while value >= 0x80 {
            out.append(UInt8(value & 0x7F) | 0x80)
            value >>= 7
        }
        out.append(UInt8(value))
    }

    /// The varint of `value`.
    public static func encode(_ value: UInt64) -> [UInt8] {
        var out: [UInt8] = []
        encode(value, into: &out)
        return out
    }

    /// Decodes a varint at `offset`; returns the value and the number of bytes it took.
    /// - Throws: ``ContentError/Code/invalidVarint`` when truncated, longer than 9 bytes, or not minimal.
    public static func decode(_ bytes: some Collection<UInt8>, at offset: Int = 0) throws(ContentError) -> (
        value: UInt64, length: Int
    ) {
        var value: UInt64 = 0
        var shift: UInt64 = 0
        var index = bytes.index(bytes.startIndex, offsetBy: offset)
        var length = 0
        while true {
            guard index < bytes.endIndex else {
                throw ContentError(.invalidVarint, "Unable to read varint at byte \(offset): truncated")
            }
            let byte = bytes[index]
            length += 1
            guard length <= 9 else {
                throw ContentError(.invalidVarint, "Unable to read varint at byte \(offset): longer than 9 bytes")
            }
            value |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 {
                if byte == 0 && length > 1 {
                    throw ContentError(.invalidVarint, "Unable to read varint at byte \(offset): not minimally encoded")
                }
                return (value, length)
            }
            shift += 7
            index = bytes.index(after: index)
        }
    }
}
