// Kiln — Apache-2.0. See LICENSE.

internal import KilnCore

internal import BigInt

/// A token of the expression language.
struct Token: Hashable, Sendable {
    enum Kind: Hashable, Sendable {
        case integer(BigInt)
        case decimal(Double)
        case string(String)
        case identifier(String)
        case symbol(String)  // + - * / % == != < <= > >= ( ) , . { } :
        case end
    }

    var kind: Kind
    /// 0-based offset of the token's first character in the expression text.
    var offset: Int
}

/// Splits expression text into tokens; `locate(offset)` maps positions back to the template file.
struct Lexer {
    static let symbols = ["==", "!=", "<=", ">=", "+", "-", "*", "/", "%", "<", ">", "(", ")", ",", ".", "{", "}", ":"]

    static func tokens(_ text: String, locate: (Int) -> SourceLocation) throws(TemplateError) -> [Token] {
        let chars = Array(text)
        var tokens: [Token] = []
        var index = 0
        func fail(_ message: String, at offset: Int) -> TemplateError { TemplateError(locate(offset), message) }
        while index < chars.count {
            let char = chars[index]
            if char.isWhitespace {
                index += 1
                continue
            }
            let start = index
            if char.isASCII && char.isNumber {
                while index < chars.count, chars[index].isASCII, chars[index].isNumber || chars[index] == "_" {
                    index += 1
                }
                var isDecimal = false
                if index + 1 < chars.count, chars[index] == ".", chars[index + 1].isASCII, chars[index + 1].isNumber {
                    isDecimal = true
                    index += 1
                    while index < chars.count, chars[index].isASCII, chars[index].isNumber { index += 1 }
                }
                let literal = String(chars[start..<index]).replacingUnderscores()
                if isDecimal {
                    guard let value = Double(literal), value.isFinite else {
                        throw fail("decimal '\(literal)' is out of range", at: start)
                    }
                    tokens.append(Token(kind: .decimal(value), offset: start))
                } else {
                    guard literal.count <= 100, let value = BigInt(literal, radix: 10) else {
                        throw fail("integer literal is too long (at most 100 digits)", at: start)
                    }
                    tokens.append(Token(kind: .integer(value), offset: start))
                }
                if index < chars.count, chars[index].isLetter || chars[index] == "_" {
                    throw fail("a number runs into '\(chars[index])'", at: index)
                }
                continue
            }
            if char == "\"" || char == "'" {
                index += 1
                var value = ""
                var closed = false
                while index < chars.count {
                    let c = chars[index]
                    if c == char {
                        closed = true
                        index += 1
                        break
                    }
                    if c == "\\" {
                        guard index + 1 < chars.count else { break }
                        let escaped = chars[index + 1]
                        switch escaped {
                        case "n": value.append("\n")
                        case "t": value.append("\t")
                        case "\\", "\"", "'": value.append(escaped)
                        default: throw fail("unknown escape '\\\(escaped)' in a string", at: index)
                        }
                        index += 2
                        continue
                    }
                    value.append(c)
                    index += 1
                }
                guard closed else { throw fail("unterminated string", at: start) }
                tokens.append(Token(kind: .string(value), offset: start))
                continue
            }
            if char.isLetter || char == "_" {
                while index < chars.count, chars[index].isLetter || chars[index].isNumber || chars[index] == "_" {
                    index += 1
                }
                tokens.append(Token(kind: .identifier(String(chars[start..<index])), offset: start))
                continue
            }
            if let symbol = Self.symbols.first(where: { symbol in
                symbol.count <= chars.count - index && String(chars[index..<index + symbol.count]) == symbol
            }) {
                tokens.append(Token(kind: .symbol(symbol), offset: start))
                index += symbol.count
                continue
            }
            if char == "=" { throw fail("'=' is not an operator; compare with '=='", at: start) }
            if char == "&" || char == "|" { throw fail("use 'and' / 'or' instead of '\(char)'", at: start) }
            if char == "!" { throw fail("use 'not' instead of '!'", at: start) }
            throw fail("unexpected character '\(char)'", at: start)
        }
        tokens.append(Token(kind: .end, offset: chars.count))
        return tokens
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}
