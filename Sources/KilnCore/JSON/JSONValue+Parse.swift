// Kiln — Apache-2.0. See LICENSE.

internal import BigInt

extension JSONValue {
    /// The deepest nesting ``parse(_:)`` accepts, so that hostile input can't exhaust the stack.
    public static let maximumDepth = 256

    /// Parses JSON text (RFC 8259), keeping integers exact.
    ///
    /// Duplicate object keys are rejected (they would make a hash ambiguous), as are non-finite numbers and
    /// nesting deeper than ``maximumDepth``.
    /// - Throws: ``FormatError/Code/invalidJSON`` whose message gives `line:column` and what was expected.
    public static func parse(_ text: String) throws(FormatError) -> JSONValue {
        var parser = JSONParser(Array(text.utf8))
        return try parser.parseDocument()
    }

    /// Parses JSON from UTF-8 bytes.
    public static func parse(bytes: [UInt8]) throws(FormatError) -> JSONValue {
        var parser = JSONParser(bytes)
        return try parser.parseDocument()
    }
}

struct JSONParser {
    private let input: [UInt8]
    private var index = 0
    private var depth = 0

    init(_ input: [UInt8]) { self.input = input }

    mutating func parseDocument() throws(FormatError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue()
        skipWhitespace()
        guard index == input.count else { throw failure("unexpected text after the value") }
        return value
    }

    // MARK: - Values

    private mutating func parseValue() throws(FormatError) -> JSONValue {
        guard index < input.count else { throw failure("unexpected end of input, expected a value") }
        switch input[index] {
        case UInt8(ascii: "{"): return try parseObject()
        case UInt8(ascii: "["): return try parseArray()
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try parseNumber()
        default: throw failure("unexpected character \(describe(input[index])), expected a value")
        }
    }

    private mutating func parseObject() throws(FormatError) -> JSONValue {
        try enter()
        index += 1
        var members: [String: JSONValue] = [:]
        skipWhitespace()
        if peek(UInt8(ascii: "}")) {
            index += 1
            depth -= 1
            return .object(members)
        }
        while true {
            skipWhitespace()
            guard peek(UInt8(ascii: "\"")) else { throw failure("expected a string key") }
            let keyStart = index
            let key = try parseString()
            skipWhitespace()
            guard peek(UInt8(ascii: ":")) else { throw failure("expected ':' after key") }
            index += 1
            skipWhitespace()
            let value = try parseValue()
            guard members.updateValue(value, forKey: key) == nil else {
                index = keyStart
                throw failure("duplicate key \"\(key)\"")
            }
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                index += 1
                continue
            }
            guard peek(UInt8(ascii: "}")) else { throw failure("expected ',' or '}' in object") }
            index += 1
            depth -= 1
            return .object(members)
        }
    }

    private mutating func parseArray() throws(FormatError) -> JSONValue {
        try enter()
        index += 1
        var elements: [JSONValue] = []
        skipWhitespace()
        if peek(UInt8(ascii: "]")) {
            index += 1
            depth -= 1
            return .array(elements)
        }
        while true {
            skipWhitespace()
            elements.append(try parseValue())
            skipWhitespace()
            if peek(UInt8(ascii: ",")) {
                index += 1
                continue
            }
            guard peek(UInt8(ascii: "]")) else { throw failure("expected ',' or ']' in array") }
            index += 1
            depth -= 1
            return .array(elements)
        }
    }

    private mutating func parseString() throws(FormatError) -> String {
        let start = index
        index += 1  // opening quote
        var bytes: [UInt8] = []
        while true {
            guard index < input.count else { throw failure("unterminated string") }
            let byte = input[index]
            switch byte {
            case UInt8(ascii: "\""):
                index += 1
                guard let text = String(validating: bytes, as: UTF8.self) else {
                    index = start
                    throw failure("string is not valid UTF-8")
                }
                return text
            case UInt8(ascii: "\\"):
                index += 1
                guard index < input.count else { throw failure("unterminated escape") }
                let escaped = input[index]
                index += 1
                switch escaped {
                case UInt8(ascii: "\""): bytes.append(0x22)
                case UInt8(ascii: "\\"): bytes.append(0x5C)
                case UInt8(ascii: "/"): bytes.append(0x2F)
                case UInt8(ascii: "b"): bytes.append(0x08)
                case UInt8(ascii: "f"): bytes.append(0x0C)
                case UInt8(ascii: "n"): bytes.append(0x0A)
                case UInt8(ascii: "r"): bytes.append(0x0D)
                case UInt8(ascii: "t"): bytes.append(0x09)
                case UInt8(ascii: "u"):
                    var scalar = try parseHex4()
                    if (0xD800...0xDBFF).contains(scalar) {
                        guard peek(UInt8(ascii: "\\")), index + 1 < input.count, input[index + 1] == UInt8(ascii: "u")
                        else { throw failure("lone high surrogate in \\u escape") }
                        index += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else {
                            throw failure("invalid low surrogate in \\u escape")
                        }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(scalar) {
                        throw failure("lone low surrogate in \\u escape")
                    }
                    bytes.append(contentsOf: Array(String(Character(Unicode.Scalar(scalar)!)).utf8))
                default:
                    index -= 1
                    throw failure("invalid escape \\\(describe(escaped))")
                }
            case 0x00..<0x20:
                throw failure("control character \(describe(byte)) must be escaped in a string")
            default:
                // A run of plain bytes at once (a node's answer holds its image as one long base64 string).
                let run = index
                index = input.withUnsafeBufferPointer { Self.endOfPlainRun($0, from: run + 1) }
                bytes.append(contentsOf: input[run..<index])
            }
        }
    }

    /// The index of the first byte from `start` on that a string's plain run stops at — a quote, a backslash or a
    /// control character — or the end of `input`: eight bytes tested at a time as one word, then one at a time.
    ///
    /// Hand-written bit tests (no library has them): for a word `w`, `(w − 0x01…01) & ~w & 0x80…80` is nonzero
    /// exactly when some byte of `w` is zero, and `(w − n·0x01…01) & ~w & 0x80…80` when some byte is below `n`
    /// (`n` ≤ 128); a quote or a backslash is a zero byte of `w` XOR that byte repeated.
    static func endOfPlainRun(_ input: UnsafeBufferPointer<UInt8>, from start: Int) -> Int {
        var index = start
        if let base = input.baseAddress {
            let raw = UnsafeRawPointer(base)
            let (ones, highs): (UInt64, UInt64) = (0x0101_0101_0101_0101, 0x8080_8080_8080_8080)
            while index + 8 <= input.count {
                let word = raw.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                let quote = word ^ (ones &* 0x22), backslash = word ^ (ones &* 0x5C)
                let stops =
                    ((quote &- ones) & ~quote) | ((backslash &- ones) & ~backslash) | ((word &- ones &* 0x20) & ~word)
                if stops & highs != 0 { break }
                index += 8
            }
        }
        while index < input.count {
            let next = input[index]
            if next == UInt8(ascii: "\"") || next == UInt8(ascii: "\\") || next < 0x20 { break }
            index += 1
        }
        return index
    }

    private mutating func parseHex4() throws(FormatError) -> UInt32 {
        guard index + 4 <= input.count else { throw failure("truncated \\u escape") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = input[index]
            let digit: UInt32
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt32(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt32(byte - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt32(byte - UInt8(ascii: "A") + 10)
            default: throw failure("invalid hex digit \(describe(byte)) in \\u escape")
            }
            value = value << 4 | digit
            index += 1
        }
        return value
    }

    private mutating func parseNumber() throws(FormatError) -> JSONValue {
        let start = index
        if peek(UInt8(ascii: "-")) { index += 1 }
        guard index < input.count, isDigit(input[index]) else { throw failure("expected a digit") }
        if input[index] == UInt8(ascii: "0") {
            index += 1
            if index < input.count, isDigit(input[index]) { throw failure("leading zero in number") }
        } else {
            while index < input.count, isDigit(input[index]) { index += 1 }
        }
        var isInteger = true
        if peek(UInt8(ascii: ".")) {
            isInteger = false
            index += 1
            guard index < input.count, isDigit(input[index]) else { throw failure("expected a digit after '.'") }
            while index < input.count, isDigit(input[index]) { index += 1 }
        }
        if peek(UInt8(ascii: "e")) || peek(UInt8(ascii: "E")) {
            isInteger = false
            index += 1
            if peek(UInt8(ascii: "+")) || peek(UInt8(ascii: "-")) { index += 1 }
            guard index < input.count, isDigit(input[index]) else { throw failure("expected a digit in exponent") }
            while index < input.count, isDigit(input[index]) { index += 1 }
        }
        let text = String(decoding: input[start..<index], as: UTF8.self)
        if isInteger {
            guard text.count <= 1024, let value = BigInt(text, radix: 10) else {
                index = start
                throw failure("integer is too long")
            }
            return .integer(value)
        }
        guard let value = Double(text), value.isFinite else {
            index = start
            throw failure("number '\(text)' is out of range")
        }
        return .decimal(value)
    }

    // MARK: - Helpers

    private mutating func enter() throws(FormatError) {
        depth += 1
        guard depth <= JSONValue.maximumDepth else {
            throw failure("nesting deeper than \(JSONValue.maximumDepth) levels")
        }
    }

    private mutating func expectLiteral(_ literal: String) throws(FormatError) {
        let bytes = Array(literal.utf8)
        guard index + bytes.count <= input.count, Array(input[index..<index + bytes.count]) == bytes else {
            throw failure("invalid literal, expected '\(literal)'")
        }
        index += bytes.count
    }

    private mutating func skipWhitespace() {
        while index < input.count {
            switch input[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    private func peek(_ byte: UInt8) -> Bool { index < input.count && input[index] == byte }
    private func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }

    private func describe(_ byte: UInt8) -> String {
        byte >= 0x20 && byte < 0x7F ? "'\(Character(Unicode.Scalar(byte)))'" : "byte 0x" + String(byte, radix: 16)
    }

    /// An error at the current position, as `line:column` (both from 1, column in bytes).
    private func failure(_ message: String) -> FormatError {
        var line = 1
        var column = 1
        for byte in input[..<min(index, input.count)] {
            if byte == 0x0A {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return FormatError(.invalidJSON, "Unable to parse JSON at \(line):\(column): \(message)")
    }
}
