// Kiln — Apache-2.0. See LICENSE.

/// The two multibase encodings CIDs use: base32 (RFC 4648, lower case, no padding; prefix `b`) and base58btc
/// (the Bitcoin alphabet; prefix `z`, and CIDv0's bare form).
public enum Multibase {
    private static let base32Alphabet = Array("abcdefghijklmnopqrstuvwxyz234567".utf8)
    private static let base58Alphabet = Array("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".utf8)

    /// RFC 4648 base32 in lower case without padding (no multibase prefix).
    public static func base32(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity((bytes.count * 8 + 4) / 5)
        var buffer: UInt32 = 0
        var bits = 0
        for byte in bytes {
            buffer = buffer << 8 | UInt32(byte)
            bits += 8
            while bits >= 5 {
                bits -= 5
                out.append(base32Alphabet[Int((buffer >> UInt32(bits)) & 31)])
            }
        }
        if bits > 0 { out.append(base32Alphabet[Int((buffer << UInt32(5 - bits)) & 31)]) }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base32 (either case, no padding; no multibase prefix).
    public static func decodeBase32(_ text: some StringProtocol) throws(ContentError) -> [UInt8] {
        var out: [UInt8] = []
        var buffer: UInt32 = 0
        var bits = 0
        for (index, char) in text.utf8.enumerated() {
            let value: UInt32
            switch char {
            case UInt8(ascii: "a")...UInt8(ascii: "z"): value = UInt32(char - UInt8(ascii: "a"))
            case UInt8(ascii: "A")...UInt8(ascii: "Z"): value = UInt32(char - UInt8(ascii: "A"))
            case UInt8(ascii: "2")...UInt8(ascii: "7"): value = UInt32(char - UInt8(ascii: "2")) + 26
            default:
                throw ContentError(
                    .invalidMultibase,
                    "Unable to decode base32: character \(index + 1) is not in the alphabet"
                )
            }
            buffer = buffer << 5 | value
            bits += 5
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((buffer >> UInt32(bits)) & 0xFF))
            }
        }
        guard bits < 5, buffer & ((1 << UInt32(bits)) - 1) == 0 else {
            throw ContentError(.invalidMultibase, "Unable to decode base32: trailing bits are not zero (wrong length)")
        }
        return out
    }

    /// Base58btc (no multibase prefix).
    public static func base58(_ bytes: [UInt8]) -> String {
        let zeros = bytes.prefix { $0 == 0 }.count
        var digits: [UInt8] = []  // base-58 digits, least significant first
        for byte in bytes[zeros...] {
            var carry = UInt32(byte)
            for index in digits.indices {
                carry += UInt32(digits[index]) << 8
                digits[index] = UInt8(carry % 58)
                carry /= 58
            }
            while carry > 0 {
                digits.append(UInt8(carry % 58))
                carry /= 58
            }
        }
        let out =
            [UInt8](repeating: base58Alphabet[0], count: zeros) + digits.reversed().map { base58Alphabet[Int($0)] }
        return String(decoding: out, as: UTF8.self)
    }

    /// Decodes base58btc (no multibase prefix).
    public static func decodeBase58(_ text: some StringProtocol) throws(ContentError) -> [UInt8] {
        var bytes: [UInt8] = []  // least significant first
        let characters = Array(text.utf8)
        let zeros = characters.prefix { $0 == base58Alphabet[0] }.count
        for (index, char) in characters.enumerated() {
            guard let digit = base58Alphabet.firstIndex(of: char) else {
                throw ContentError(
                    .invalidMultibase,
                    "Unable to decode base58btc: character \(index + 1) is not in the alphabet"
                )
            }
            var carry = UInt32(digit)
            for position in bytes.indices {
                carry += UInt32(bytes[position]) * 58
                bytes[position] = UInt8(carry & 0xFF)
                carry >>= 8
            }
            while carry > 0 {
                bytes.append(UInt8(carry & 0xFF))
                carry >>= 8
            }
        }
        return [UInt8](repeating: 0, count: zeros) + bytes.reversed()
    }
}
