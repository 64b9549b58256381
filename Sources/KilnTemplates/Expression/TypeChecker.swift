// Kiln — Apache-2.0. See LICENSE.

internal import KilnCore

/// What names an expression may use, and their types.
public struct TypeScope: Sendable {
    public var state: [String: ValueType]
    /// The event's parameters, inside `state.events[].set` only.
    public var event: [String: ValueType]?

    public init(state: [String: ValueType], event: [String: ValueType]? = nil) {
        self.state = state
        self.event = event
    }
}

extension Expression {
    /// The type of this expression in `scope`.
    /// - Throws: ``TemplateError`` at the sub-expression that does not type-check.
    public func type(in scope: TypeScope) throws(TemplateError) -> ValueType {
        func fail(_ message: String, _ at: SourceLocation? = nil) -> TemplateError {
            TemplateError(at ?? location, message)
        }
        switch self {
        case .integer: return .int
        case .decimal: return .decimal
        case .string: return .string
        case .bool: return .bool
        case .weights: throw fail("a weights object is only allowed as pick's second argument")
        case .path(let root, let name, _):
            switch root {
            case "state":
                guard let type = scope.state[name] else {
                    throw fail("unknown state 'state.\(name)'" + didYouMean(name, scope.state.keys))
                }
                return type
            case "event":
                guard let event = scope.event else {
                    throw fail("'event.\(name)' is only available in an event's 'set' (here only state and token are)")
                }
                guard let type = event[name] else {
                    throw fail("the event has no parameter '\(name)'" + didYouMean(name, event.keys))
                }
                return type
            default:
                switch name {
                case "id": return .int
                case "contract": return .string
                default: throw fail("unknown 'token.\(name)': use token.id or token.contract")
                }
            }
        case .unary(let op, let operand, _):
            let type = try operand.type(in: scope)
            if op == "not" {
                guard type == .bool else { throw fail("'not' needs a bool, found \(type)") }
                return .bool
            }
            guard type.isNumber else { throw fail("'-' needs a number, found \(type)") }
            return type
        case .binary(let op, let left, let right, _):
            let a = try left.type(in: scope)
            let b = try right.type(in: scope)
            switch op {
            case "and", "or":
                guard a == .bool, b == .bool else { throw fail("'\(op)' needs bools, found \(a) and \(b)") }
                return .bool
            case "==", "!=":
                guard a == b || (a.isNumber && b.isNumber) else { throw fail("'\(op)' compares \(a) with \(b)") }
                return .bool
            case "<", "<=", ">", ">=":
                guard (a.isNumber && b.isNumber) || (a == .string && b == .string) else {
                    throw fail("'\(op)' needs two numbers or two strings, found \(a) and \(b)")
                }
                return .bool
            case "+":
                if a == .string && b == .string { return .string }
                guard a.isNumber, b.isNumber else {
                    throw fail(
                        "'+' adds numbers or joins strings, found \(a) and \(b)"
                            + (a == .string || b == .string ? " (use str() to join a number)" : "")
                    )
                }
                return a == .int && b == .int ? .int : .decimal
            default:  // - * / %
                guard a.isNumber, b.isNumber else { throw fail("'\(op)' needs numbers, found \(a) and \(b)") }
                return a == .int && b == .int ? .int : .decimal
            }
        case .call(let name, let arguments, _):
            return try Builtins.type(name, arguments, at: location, in: scope)
        }
    }
}

/// The built-in functions: their types here, their values in ``Evaluator``.
enum Builtins {
    static let names = ["if", "min", "max", "clamp", "len", "lower", "upper", "hex", "str", "int", "pick"]

    static func type(_ name: String, _ arguments: [Expression], at location: SourceLocation, in scope: TypeScope)
        throws(TemplateError) -> ValueType
    {
        func fail(_ message: String) -> TemplateError { TemplateError(location, message) }
        func count(_ expected: ClosedRange<Int>) throws(TemplateError) {
            guard expected.contains(arguments.count) else {
                let wanted =
                    expected.lowerBound == expected.upperBound
                    ? "\(expected.lowerBound)" : "\(expected.lowerBound)…\(expected.upperBound)"
                throw fail(
                    "\(name)() takes \(wanted) argument\(expected.upperBound == 1 ? "" : "s"), found \(arguments.count)"
                )
            }
        }
        if name == "pick" {
            try count(2...2)
            guard try arguments[0].type(in: scope) == .string else {
                throw TemplateError(arguments[0].location, "pick()'s key must be a string")
            }
            guard case .weights(let pairs, let at) = arguments[1] else {
                throw TemplateError(
                    arguments[1].location,
                    "pick()'s second argument must be a weights object like {\"gold\": 1, \"iron\": 6}"
                )
            }
            guard pairs.allSatisfy({ $0.1 >= 0 }), pairs.contains(where: { $0.1 > 0 }) else {
                throw TemplateError(at, "pick() weights must be whole numbers ≥ 0, at least one of them > 0")
            }
            return .string
        }
        let types = try arguments.map { (argument) throws(TemplateError) -> ValueType in try argument.type(in: scope) }
        func numbers() throws(TemplateError) -> ValueType {
            for (index, type) in types.enumerated() where !type.isNumber {
                throw TemplateError(arguments[index].location, "\(name)() needs numbers, found \(type)")
            }
            return types.allSatisfy { $0 == .int } ? .int : .decimal
        }
        switch name {
        case "if":
            try count(3...3)
            guard types[0] == .bool else {
                throw TemplateError(arguments[0].location, "if()'s condition must be a bool, found \(types[0])")
            }
            if types[1] == types[2] { return types[1] }
            if types[1].isNumber && types[2].isNumber { return .decimal }
            throw fail("if()'s two branches have different types: \(types[1]) and \(types[2])")
        case "min", "max":
            try count(1...16)
            return try numbers()
        case "clamp":
            try count(3...3)
            return try numbers()
        case "len", "lower", "upper":
            try count(1...1)
            guard types[0] == .string else {
                throw TemplateError(arguments[0].location, "\(name)() needs a string, found \(types[0])")
            }
            return name == "len" ? .int : .string
        case "hex":
            try count(1...1)
            guard types[0] == .int else {
                throw TemplateError(arguments[0].location, "hex() needs an int, found \(types[0])")
            }
            return .string
        case "str":
            try count(1...1)
            return .string
        case "int":
            try count(1...1)
            return .int
        default:
            throw fail("unknown function '\(name)'" + didYouMean(name, names))
        }
    }
}
