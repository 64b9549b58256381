// Kiln — Apache-2.0. See LICENSE.

public import BigInt
internal import KilnCore

/// The values an expression reads: the token, its state, and (in an event's `set`) the event's fields.
public struct Environment: Sendable {
    public var tokenId: BigUInt
    /// The token's contract, lower-case `0x` hex.
    public var contract: String
    public var state: [String: Value]
    public var event: [String: Value]?

    public init(tokenId: BigUInt, contract: String, state: [String: Value], event: [String: Value]? = nil) {
        self.tokenId = tokenId
        self.contract = contract.lowercased()
        self.state = state
        self.event = event
    }
}

extension Expression {
    /// Evaluates a type-checked expression.
    /// - Throws: ``TemplateError`` for the few run-time failures: division by zero, `int()` of a string that is
    ///   no number, `hex()` of a negative number, a name that has no value.
    public func evaluate(in env: Environment) throws(TemplateError) -> Value {
        func fail(_ message: String, _ at: SourceLocation? = nil) -> TemplateError {
            TemplateError(at ?? location, message)
        }
        switch self {
        case .integer(let v, _): return .int(v)
        case .decimal(let v, _): return .decimal(v)
        case .string(let v, _): return .string(v)
        case .bool(let v, _): return .bool(v)
        case .weights: throw fail("a weights object has no value of its own")
        case .path(let root, let name, _):
            switch root {
            case "state":
                guard let value = env.state[name] else { throw fail("state.\(name) has no value") }
                return value
            case "event":
                guard let value = env.event?[name] else { throw fail("event.\(name) has no value here") }
                return value
            default:
                return name == "id" ? .int(BigInt(env.tokenId)) : .string(env.contract)
            }
        case .unary(let op, let operand, _):
            let value = try operand.evaluate(in: env)
            switch (op, value) {
            case ("not", .bool(let b)): return .bool(!b)
            case ("-", .int(let i)): return .int(-i)
            case ("-", .decimal(let d)): return .decimal(-d)
            default: throw fail("'\(op)' cannot apply to \(value.type)")
            }
        case .binary(let op, let left, let right, _):
            let a = try left.evaluate(in: env)
            if op == "and", case .bool(false) = a { return .bool(false) }
            if op == "or", case .bool(true) = a { return .bool(true) }
            let b = try right.evaluate(in: env)
            return try Self.apply(op, a, b, at: location)
        case .call(let name, let arguments, _):
            return try Evaluator.call(name, arguments, in: env, at: location)
        }
    }

    static func apply(_ op: String, _ a: Value, _ b: Value, at location: SourceLocation) throws(TemplateError) -> Value
    {
        func fail(_ message: String) -> TemplateError { TemplateError(location, message) }
        switch (a, b) {
        case (.bool(let x), .bool(let y)):
            switch op {
            case "and": return .bool(x && y)
            case "or": return .bool(x || y)
            case "==": return .bool(x == y)
            case "!=": return .bool(x != y)
            default: break
            }
        case (.string(let x), .string(let y)):
            let order = Array(x.utf8).lexicographicallyPrecedes(Array(y.utf8))
            switch op {
            case "+": return .string(x + y)
            case "==": return .bool(x == y)
            case "!=": return .bool(x != y)
            case "<": return .bool(order)
            case ">": return .bool(Array(y.utf8).lexicographicallyPrecedes(Array(x.utf8)))
            case "<=": return .bool(x == y || order)
            case ">=": return .bool(x == y || !order)
            default: break
            }
        case (.int(let x), .int(let y)):
            switch op {
            case "+": return .int(x + y)
            case "-": return .int(x - y)
            case "*":
                guard x.bitWidth + y.bitWidth <= 4096 else { throw fail("result of '*' is too large (over 4096 bits)") }
                return .int(x * y)
            case "/", "%":
                guard y != 0 else { throw fail(op == "/" ? "division by zero" : "modulo by zero") }
                // Floor division, so that `x % n` is always in 0..<n for n > 0 (Python's rule).
                var (q, r) = x.quotientAndRemainder(dividingBy: y)
                if r != 0 && (r < 0) != (y < 0) {
                    q -= 1
                    r += y
                }
                return .int(op == "/" ? q : r)
            case "==": return .bool(x == y)
            case "!=": return .bool(x != y)
            case "<": return .bool(x < y)
            case "<=": return .bool(x <= y)
            case ">": return .bool(x > y)
            case ">=": return .bool(x >= y)
            default: break
            }
        default:
            if let x = a.number, let y = b.number {
                switch op {
                case "+": return .decimal(x + y)
                case "-": return .decimal(x - y)
                case "*": return .decimal(x * y)
                case "/":
                    guard y != 0 else { throw fail("division by zero") }
                    return .decimal(x / y)
                case "%":
                    guard y != 0 else { throw fail("modulo by zero") }
                    return .decimal(x - (x / y).rounded(.down) * y)
                case "==": return .bool(x == y)
                case "!=": return .bool(x != y)
                case "<": return .bool(x < y)
                case "<=": return .bool(x <= y)
                case ">": return .bool(x > y)
                case ">=": return .bool(x >= y)
                default: break
                }
            }
        }
        throw fail("'\(op)' cannot apply to \(a.type) and \(b.type)")
    }
}

extension Value {
    /// The value as a Double, for mixed int/decimal arithmetic.
    var number: Double? {
        switch self {
        case .int(let v): Double(v)
        case .decimal(let v): v
        default: nil
        }
    }
}

enum Evaluator {
    static func call(_ name: String, _ arguments: [Expression], in env: Environment, at location: SourceLocation)
        throws(TemplateError) -> Value
    {
        func fail(_ message: String) -> TemplateError { TemplateError(location, message) }
        // The type checker refuses wrong arities; evaluating an unchecked expression must still not crash.
        let arity: ClosedRange<Int>? =
            switch name {
            case "if", "clamp": 3...3
            case "pick": 2...2
            case "min", "max": 1...Int.max
            case "len", "lower", "upper", "hex", "str", "int": 1...1
            default: nil
            }
        guard let arity else { throw fail("unknown function '\(name)'") }
        guard arity.contains(arguments.count) else {
            throw fail(
                "\(name)() takes \(arity.count == 1 ? "\(arity.lowerBound)" : "at least \(arity.lowerBound)") argument(s), found \(arguments.count)"
            )
        }
        if name == "if" {
            guard case .bool(let condition) = try arguments[0].evaluate(in: env) else {
                throw fail("if() needs a bool")
            }
            let value = try arguments[condition ? 1 : 2].evaluate(in: env)
            // Keep the checked type: an int branch of a decimal if() is a decimal.
            if case .int(let i) = value, case .decimal = try? arguments[condition ? 2 : 1].evaluate(in: env) {
                return .decimal(Double(i))
            }
            return value
        }
        if name == "pick" {
            guard case .string(let key) = try arguments[0].evaluate(in: env), case .weights(let pairs, _) = arguments[1]
            else {
                throw fail("pick() needs a key and weights")
            }
            guard let choice = pick(key: key, weights: pairs, env: env) else {
                throw fail("pick() needs at least one weight > 0")
            }
            return .string(choice)
        }
        let values = try arguments.map { (argument) throws(TemplateError) -> Value in try argument.evaluate(in: env) }
        switch name {
        case "min", "max":
            if values.allSatisfy({ $0.type == .int }) {
                let ints = values.compactMap { if case .int(let i) = $0 { i } else { nil } }
                if let result = name == "min" ? ints.min() : ints.max() { return .int(result) }
            }
            let numbers = values.compactMap(\.number)
            guard numbers.count == values.count, let result = name == "min" ? numbers.min() : numbers.max() else {
                throw fail("\(name)() needs numbers")
            }
            return .decimal(result)
        case "clamp":
            if case .int(let x) = values[0], case .int(let lo) = values[1], case .int(let hi) = values[2] {
                guard lo <= hi else { throw fail("clamp() bounds are reversed: \(lo) > \(hi)") }
                return .int(Swift.min(Swift.max(x, lo), hi))
            }
            guard let x = values[0].number, let lo = values[1].number, let hi = values[2].number else {
                throw fail("clamp() needs numbers")
            }
            guard lo <= hi else { throw fail("clamp() bounds are reversed") }
            return .decimal(Swift.min(Swift.max(x, lo), hi))
        case "len":
            guard case .string(let s) = values[0] else { break }
            return .int(BigInt(s.unicodeScalars.count))
        case "lower", "upper":
            guard case .string(let s) = values[0] else { break }
            return .string(name == "lower" ? s.lowercased() : s.uppercased())
        case "hex":
            guard case .int(let i) = values[0] else { break }
            guard i >= 0 else { throw fail("hex() of a negative number (\(i))") }
            return .string("0x" + String(i, radix: 16))
        case "str":
            return .string(values[0].description)
        case "int":
            switch values[0] {
            case .int: return values[0]
            case .bool(let b): return .int(b ? 1 : 0)
            case .decimal(let d):
                guard d.isFinite, abs(d) < 1e30 else { throw fail("int() of \(d) is out of range") }
                return .int(BigInt(d.rounded(.towardZero)))
            case .string(let s):
                let trimmed = s.trimmingSpaces()
                if trimmed.hasPrefix("0x"), let value = BigInt(trimmed.dropFirst(2), radix: 16) { return .int(value) }
                guard trimmed.count <= 100, let value = BigInt(trimmed, radix: 10) else {
                    throw fail("int() of \"\(s.prefix(40))\": not a whole number")
                }
                return .int(value)
            }
        default: break
        }
        throw fail("unknown function '\(name)'")
    }

    /// The deterministic weighted draw: `keccak256("kiln.pick" ‖ 0 ‖ contract ‖ 0 ‖ tokenId ‖ 0 ‖ key)` as a
    /// big-endian number, modulo the total weight, walks the choices sorted by name (byte-wise), so neither
    /// the order they are written in nor anything but the token and the key changes the outcome.
    /// Nil when no weight is above zero.
    static func pick(key: String, weights: [(String, BigInt)], env: Environment) -> String? {
        let seed = "kiln.pick\u{0}\(env.contract)\u{0}\(env.tokenId)\u{0}\(key)"
        let draw = BigUInt(bigEndian: Keccak256.hash(utf8: seed).bytes)
        let sorted = weights.filter { $0.1 > 0 }.sorted { Array($0.0.utf8).lexicographicallyPrecedes(Array($1.0.utf8)) }
        let total = sorted.reduce(BigInt(0)) { $0 + $1.1 }
        guard total > 0 else { return nil }
        var point = BigInt(draw % BigUInt(total))
        for (name, weight) in sorted {
            if point < weight { return name }
            point -= weight
        }
        return sorted.last?.0
    }
}

extension String {
    func trimmingSpaces() -> String {
        String(drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
    }
}
