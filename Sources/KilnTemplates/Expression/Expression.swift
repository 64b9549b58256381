// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

public import BigInt

/// A parsed expression of Kiln's template language. Pure: no loops, no IO, no hidden randomness.
///
/// Grammar (lowest precedence first):
/// ```
/// expr       = or
/// or         = and { "or" and }
/// and        = not { "and" not }
/// not        = "not" not | comparison
/// comparison = sum [ ("==" | "!=" | "<" | "<=" | ">" | ">=") sum ]
/// sum        = product { ("+" | "-") product }
/// product    = unary { ("*" | "/" | "%") unary }
/// unary      = "-" unary | primary
/// primary    = integer | decimal | string | "true" | "false" | path | call | "(" expr ")"
/// path       = ("state" | "event" | "token") "." name
/// call       = name "(" [ argument { "," argument } ] ")"
/// argument   = expr | "{" string ":" integer { "," string ":" integer } "}"   (weights, for pick only)
/// ```
public indirect enum Expression: Hashable, Sendable {
    case integer(BigInt, SourceLocation)
    case decimal(Double, SourceLocation)
    case string(String, SourceLocation)
    case bool(Bool, SourceLocation)
    /// `state.level`, `event.to`, `token.id`.
    case path(root: String, name: String, SourceLocation)
    case unary(op: String, Expression, SourceLocation)
    case binary(op: String, Expression, Expression, SourceLocation)
    case call(name: String, arguments: [Expression], SourceLocation)
    /// `{"gold": 1, "iron": 6}`: only as `pick`'s second argument.
    case weights([(String, BigInt)], SourceLocation)

    public var location: SourceLocation {
        switch self {
        case .integer(_, let l), .decimal(_, let l), .string(_, let l), .bool(_, let l), .path(_, _, let l),
            .unary(_, _, let l), .binary(_, _, _, let l), .call(_, _, let l), .weights(_, let l):
            l
        }
    }

    public static func == (lhs: Expression, rhs: Expression) -> Bool { lhs.description == rhs.description }
    public func hash(into hasher: inout Hasher) { hasher.combine(description) }
}

extension Expression: CustomStringConvertible {
    /// A normalized rendering, fully parenthesized (used in tests and error messages).
    public var description: String {
        switch self {
        case .integer(let v, _): String(v)
        case .decimal(let v, _): "\(v)"
        case .string(let v, _): "\"\(v)\""
        case .bool(let v, _): "\(v)"
        case .path(let root, let name, _): "\(root).\(name)"
        case .unary(let op, let e, _): "(\(op) \(e))"
        case .binary(let op, let a, let b, _): "(\(a) \(op) \(b))"
        case .call(let name, let args, _): "\(name)(\(args.map(\.description).joined(separator: ", ")))"
        case .weights(let pairs, _): "{" + pairs.map { "\"\($0.0)\": \($0.1)" }.joined(separator: ", ") + "}"
        }
    }
}

extension Expression {
    /// Parses expression text. `location` is where the text starts in the template file.
    /// - Throws: ``TemplateError`` at the exact line:column of the problem.
    public static func parse(_ text: String, at location: SourceLocation) throws(TemplateError) -> Expression {
        var parser = ExpressionParser(tokens: try Lexer.tokens(text, locate: location.advanced(by:)), start: location)
        let expression = try parser.expression()
        guard case .end = parser.current.kind else {
            throw parser.fail("unexpected \(parser.describe(parser.current)) after the expression")
        }
        return expression
    }
}

/// A Pratt-style recursive-descent parser over ``Token``s.
struct ExpressionParser {
    let tokens: [Token]
    let start: SourceLocation
    var position = 0

    var current: Token { tokens[position] }

    func location(_ token: Token) -> SourceLocation { start.advanced(by: token.offset) }

    func fail(_ message: String, at token: Token? = nil) -> TemplateError {
        TemplateError(location(token ?? current), message)
    }

    func describe(_ token: Token) -> String {
        switch token.kind {
        case .integer(let v): "number \(v)"
        case .decimal(let v): "number \(v)"
        case .string(let v): "string \"\(v)\""
        case .identifier(let v): "'\(v)'"
        case .symbol(let v): "'\(v)'"
        case .end: "end of expression"
        }
    }

    mutating func advance() -> Token {
        let token = tokens[position]
        if position < tokens.count - 1 { position += 1 }
        return token
    }

    func isSymbol(_ symbol: String) -> Bool {
        if case .symbol(let s) = current.kind { return s == symbol }
        return false
    }

    func isKeyword(_ word: String) -> Bool {
        if case .identifier(let s) = current.kind { return s == word }
        return false
    }

    mutating func expect(_ symbol: String, _ context: String) throws(TemplateError) {
        guard isSymbol(symbol) else { throw fail("expected '\(symbol)' \(context), found \(describe(current))") }
        _ = advance()
    }

    // MARK: - Precedence levels

    static let depthLimit = 64
    var depth = 0

    mutating func expression() throws(TemplateError) -> Expression {
        depth += 1
        defer { depth -= 1 }
        guard depth <= Self.depthLimit else { throw fail("expression nested deeper than \(Self.depthLimit) levels") }
        return try or()
    }

    mutating func or() throws(TemplateError) -> Expression {
        var left = try and()
        while isKeyword("or") {
            let op = advance()
            left = .binary(op: "or", left, try and(), location(op))
        }
        return left
    }

    mutating func and() throws(TemplateError) -> Expression {
        var left = try not()
        while isKeyword("and") {
            let op = advance()
            left = .binary(op: "and", left, try not(), location(op))
        }
        return left
    }

    mutating func not() throws(TemplateError) -> Expression {
        if isKeyword("not") {
            let op = advance()
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.depthLimit else {
                throw fail("expression nested deeper than \(Self.depthLimit) levels")
            }
            return .unary(op: "not", try not(), location(op))
        }
        return try comparison()
    }

    mutating func comparison() throws(TemplateError) -> Expression {
        let left = try sum()
        for op in ["==", "!=", "<=", ">=", "<", ">"] where isSymbol(op) {
            let token = advance()
            let right = try sum()
            for next in ["==", "!=", "<=", ">=", "<", ">"] where isSymbol(next) {
                throw fail("comparisons don't chain: write 'a \(op) b and b \(next) c'")
            }
            return .binary(op: op, left, right, location(token))
        }
        return left
    }

    mutating func sum() throws(TemplateError) -> Expression {
        var left = try product()
        while isSymbol("+") || isSymbol("-") {
            let token = advance()
            guard case .symbol(let op) = token.kind else { break }
            left = .binary(op: op, left, try product(), location(token))
        }
        return left
    }

    mutating func product() throws(TemplateError) -> Expression {
        var left = try unary()
        while isSymbol("*") || isSymbol("/") || isSymbol("%") {
            let token = advance()
            guard case .symbol(let op) = token.kind else { break }
            left = .binary(op: op, left, try unary(), location(token))
        }
        return left
    }

    mutating func unary() throws(TemplateError) -> Expression {
        if isSymbol("-") {
            let token = advance()
            depth += 1
            defer { depth -= 1 }
            guard depth <= Self.depthLimit else {
                throw fail("expression nested deeper than \(Self.depthLimit) levels")
            }
            return .unary(op: "-", try unary(), location(token))
        }
        return try primary()
    }

    mutating func primary() throws(TemplateError) -> Expression {
        let token = current
        switch token.kind {
        case .integer(let v):
            _ = advance()
            return .integer(v, location(token))
        case .decimal(let v):
            _ = advance()
            return .decimal(v, location(token))
        case .string(let v):
            _ = advance()
            return .string(v, location(token))
        case .symbol("("):
            _ = advance()
            let inner = try expression()
            try expect(")", "to close '('")
            return inner
        case .symbol("{"):
            throw fail("a weights object {\"name\": weight, …} is only allowed as pick's second argument")
        case .identifier(let name):
            _ = advance()
            switch name {
            case "true": return .bool(true, location(token))
            case "false": return .bool(false, location(token))
            case "and", "or", "not": throw fail("expected a value, found '\(name)'", at: token)
            case "state", "event", "token":
                guard isSymbol(".") else {
                    throw fail("expected '.' after '\(name)' (as in \(name).\(name == "token" ? "id" : "level"))")
                }
                _ = advance()
                guard case .identifier(let field) = current.kind else { throw fail("expected a name after '\(name).'") }
                _ = advance()
                return .path(root: name, name: field, location(token))
            default:
                guard isSymbol("(") else {
                    throw fail(
                        "unknown name '\(name)'; values are state.NAME, event.NAME, token.id, token.contract"
                            + didYouMean(name, ["state", "event", "token", "true", "false"]),
                        at: token
                    )
                }
                _ = advance()
                var arguments: [Expression] = []
                if !isSymbol(")") {
                    while true {
                        arguments.append(
                            isSymbol("{") && name == "pick" && arguments.count == 1 ? try weights() : try expression()
                        )
                        if isSymbol(",") {
                            _ = advance()
                            continue
                        }
                        break
                    }
                }
                try expect(")", "to close the arguments of \(name)(…)")
                return .call(name: name, arguments: arguments, location(token))
            }
        case .symbol(let symbol):
            throw fail("expected a value, found '\(symbol)'")
        case .end:
            throw fail("expected a value, found the end of the expression")
        }
    }

    mutating func weights() throws(TemplateError) -> Expression {
        let open = advance()
        var pairs: [(String, BigInt)] = []
        while true {
            guard case .string(let key) = current.kind else {
                throw fail("expected a quoted name in the weights object")
            }
            guard !pairs.contains(where: { $0.0 == key }) else {
                throw fail("'\(key)' appears twice in the weights object")
            }
            _ = advance()
            try expect(":", "after \"\(key)\"")
            guard case .integer(let weight) = current.kind else {
                throw fail("expected a whole-number weight for \"\(key)\"")
            }
            _ = advance()
            pairs.append((key, weight))
            if isSymbol(",") {
                _ = advance()
                continue
            }
            break
        }
        try expect("}", "to close the weights object")
        return .weights(pairs, location(open))
    }
}
