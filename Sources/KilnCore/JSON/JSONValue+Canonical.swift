// Kiln — Apache-2.0. See LICENSE.

internal import BigInt

extension JSONValue {
    /// The canonical text of this value, the only form Kiln ever hashes.
    ///
    /// The rules follow RFC 8785 (JSON Canonicalization Scheme), with one extension: integers are exact at
    /// any size instead of being limited to IEEE doubles.
    /// - No insignificant whitespace.
    /// - Object members sorted by key, comparing keys as UTF-16 code units (RFC 8785 §3.2.3).
    /// - Strings escape only `"`, `\` and control characters (`\b \t \n \f \r`, others as `\u00xx`).
    /// - Integers in plain decimal; decimals in their shortest round-trip form as ECMAScript prints them
    ///   (`2.0` → `2`, `1e21` → `1e+21`, `1e-7` → `1e-7`, `-0` → `0`).
    ///
    /// - Throws: ``FormatError/Code/unsupportedJSON`` for a non-finite decimal.
    public func canonicalString() throws(FormatError) -> String {
        var out = ""
        try write(into: &out)
        return out
    }

    /// The UTF-8 bytes of ``canonicalString()``.
    public func canonicalBytes() throws(FormatError) -> [UInt8] {
        Array(try canonicalString().utf8)
    }

    /// The Keccak-256 of ``canonicalBytes()``: the hash of every JSON value in Kiln (states, inputs).
    public func canonicalHash() throws(FormatError) -> Bytes32 {
        Keccak256.hash(try canonicalBytes())
    }

    private func write(into out: inout String) throws(FormatError) {
        switch self {
        case .null: out += "null"
        case .bool(let value): out += value ? "true" : "false"
        case .integer(let value): out += String(value)
        case .decimal(let value): out += try Self.ecmaScriptNumber(value)
        case .string(let value): Self.writeString(value, into: &out)
        case .array(let elements):
            out += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { out += "," }
                try element.write(into: &out)
            }
            out += "]"
        case .object(let members):
            out += "{"
            let keys = members.keys.sorted { $0.utf16.lexicographicallyPrecedes($1.utf16) }
            for (index, key) in keys.enumerated() {
                if index > 0 { out += "," }
                Self.writeString(key, into: &out)
                out += ":"
                try members[key]!.write(into: &out)
            }
            out += "}"
        }
    }

    private static func writeString(_ value: String, into out: inout String) {
        out += "\""
        // Most strings (hex, base64, names) need no escape: appended whole, not scalar by scalar (a node's answer
        // carries its output as tens of kilobytes of base64).
        let plain =
            value.utf8.withContiguousStorageIfAvailable { bytes in
                !bytes.contains { $0 < 0x20 || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\\") }
            } ?? false
        if plain {
            out += value
            out += "\""
            return
        }
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\u{08}": out += "\\b"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            case "\u{0C}": out += "\\f"
            case "\r": out += "\\r"
            case _ where scalar.value < 0x20:
                let hex = String(scalar.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
    }

    /// Formats a finite double as ECMAScript's `Number.prototype.toString` does (RFC 8785 §3.2.2.3).
    public static func ecmaScriptNumber(_ value: Double) throws(FormatError) -> String {
        guard value.isFinite else {
            throw FormatError(.unsupportedJSON, "Unable to write '\(value)' as canonical JSON: numbers must be finite")
        }
        if value == 0 { return "0" }
        // Swift's description gives the shortest digits that round-trip; take them apart.
        var text = "\(value.magnitude)"
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...])!
            text = String(text[..<e])
        }
        var digits: String
        var pointPosition: Int  // digits before the decimal point
        if let dot = text.firstIndex(of: ".") {
            let whole = String(text[..<dot])
            let fraction = String(text[text.index(after: dot)...])
            digits = whole + fraction
            pointPosition = whole.count
        } else {
            digits = text
            pointPosition = text.count
        }
        // Strip leading zeros (moving the point) and trailing zeros.
        while digits.count > 1 && digits.first == "0" {
            digits.removeFirst()
            pointPosition -= 1
        }
        while digits.count > 1 && digits.last == "0" { digits.removeLast() }
        // value = 0.d1d2…dk × 10^n in ECMAScript's terms: n = pointPosition + exponent, k = digits.count.
        let k = digits.count
        let n = pointPosition + exponent
        var out = value < 0 ? "-" : ""
        if k <= n && n <= 21 {
            out += digits + String(repeating: "0", count: n - k)
        } else if 0 < n && n <= 21 {
            out += String(digits.prefix(n)) + "." + String(digits.dropFirst(n))
        } else if -6 < n && n <= 0 {
            out += "0." + String(repeating: "0", count: -n) + digits
        } else {
            let e = n - 1
            let sign = e < 0 ? "-" : "+"
            let mantissa = k == 1 ? digits : String(digits.prefix(1)) + "." + String(digits.dropFirst())
            out += mantissa + "e" + sign + String(abs(e))
        }
        return out
    }
}
