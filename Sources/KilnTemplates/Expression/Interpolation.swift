// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

/// Text with `{{ expression }}` holes, as in `"armor_{{state.armor}}.png"` or `"LV {{state.level}}"`.
public struct Interpolation: Hashable, Sendable {
    public enum Part: Hashable, Sendable {
        case text(String)
        case expression(Expression)
    }

    public var parts: [Part]

    /// Parses `text`, whose first character is at `location`.
    public init(_ text: String, at location: SourceLocation) throws(TemplateError) {
        var parts: [Part] = []
        let chars = Array(text)
        var index = 0
        var literal = ""
        while index < chars.count {
            if chars[index] == "{", index + 1 < chars.count, chars[index + 1] == "{" {
                var end = index + 2
                while end + 1 < chars.count, !(chars[end] == "}" && chars[end + 1] == "}") { end += 1 }
                guard end + 1 < chars.count else {
                    throw TemplateError(location.advanced(by: index), "'{{' without a closing '}}'")
                }
                if !literal.isEmpty { parts.append(.text(literal)) }
                literal = ""
                let inner = String(chars[(index + 2)..<end])
                parts.append(.expression(try Expression.parse(inner, at: location.advanced(by: index + 2))))
                index = end + 2
                continue
            }
            literal.append(chars[index])
            index += 1
        }
        if !literal.isEmpty || parts.isEmpty { parts.append(.text(literal)) }
        self.parts = parts
    }

    /// The text when it has no `{{ }}` hole (the parser keeps it as one part).
    public var literal: String? {
        if parts.count == 1, case .text(let text) = parts[0] { return text }
        return nil
    }

    /// The one expression when the text is exactly `{{ expression }}` (its value keeps its type).
    public var soleExpression: Expression? {
        if parts.count == 1, case .expression(let e) = parts[0] { return e }
        return nil
    }

    /// Type-checks every hole.
    public func check(in scope: TypeScope) throws(TemplateError) {
        for case .expression(let e) in parts { _ = try e.type(in: scope) }
    }

    /// The text with every hole replaced by `str()` of its value.
    public func evaluate(in env: Environment) throws(TemplateError) -> String {
        var out = ""
        for part in parts {
            switch part {
            case .text(let t): out += t
            case .expression(let e): out += try e.evaluate(in: env).description
            }
        }
        return out
    }
}
