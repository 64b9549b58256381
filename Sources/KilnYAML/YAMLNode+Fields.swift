// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

/// Throwing readers for configuration files (`kiln.yml`, `operators.yml`): each stops at the first problem and
/// names the key and its `file:line:column`. (The template loader collects every problem instead.)
extension YAMLNode {
    /// A mapping's values by key; a key not in `allowed` is an error that lists the known ones.
    public func fields(_ context: String, allowed: [String]) throws(YAMLError) -> Fields {
        guard case .mapping(let pairs) = kind else {
            throw error("\(context) must be a mapping (key: value), found \(kindName)")
        }
        var values: [String: YAMLNode] = [:]
        for (key, value) in pairs {
            guard let name = key.scalar else { throw key.error("keys of \(context) must be names") }
            guard allowed.contains(name) else {
                throw key.error(
                    "unknown key '\(name)' in \(context); known keys: \(allowed.sorted().joined(separator: ", "))"
                )
            }
            values[name] = value
        }
        return Fields(node: self, context: context, values: values)
    }

    /// A list's items.
    public func list(_ context: String) throws(YAMLError) -> [YAMLNode] {
        guard case .sequence(let items) = kind else { throw error("\(context) must be a list, found \(kindName)") }
        return items
    }

    /// A scalar's text (not empty).
    public func text(_ context: String) throws(YAMLError) -> String {
        guard let text = scalar, !text.isEmpty else { throw error("\(context) must be text") }
        return text
    }

    /// An unquoted whole number in `range`.
    public func integer<T: FixedWidthInteger>(_ context: String, in range: ClosedRange<T>) throws(YAMLError) -> T {
        guard let text = scalar, !isQuoted, let value = T(text), range.contains(value) else {
            let bounds = range.upperBound == T.max ? "≥ \(range.lowerBound)" : "\(range.lowerBound)…\(range.upperBound)"
            throw error("\(context) must be a whole number \(bounds)")
        }
        return value
    }

    /// An unquoted `true` or `false`.
    public func boolean(_ context: String) throws(YAMLError) -> Bool {
        guard let text = scalar, !isQuoted, text == "true" || text == "false" else {
            throw error("\(context) must be true or false")
        }
        return text == "true"
    }

    /// An unquoted number of seconds > 0.
    public func seconds(_ context: String) throws(YAMLError) -> Double {
        guard let text = scalar, !isQuoted, let value = Double(text), value.isFinite, value > 0 else {
            throw error("\(context) must be seconds > 0")
        }
        return value
    }

    /// An `http://` or `https://` URL, without a trailing slash.
    public func url(_ context: String) throws(YAMLError) -> String {
        guard let text = scalar, let url = HTTPURL.normalized(text) else {
            throw error("\(context) must be an http:// or https:// URL")
        }
        return url
    }

    /// A 0x address.
    public func address(_ context: String) throws(YAMLError) -> Address {
        guard let text = scalar, let address = try? Address(hex: text) else {
            throw error("\(context) must be a 0x address")
        }
        return address
    }

    /// A mapping's values, read by key.
    public struct Fields: Sendable {
        /// The mapping itself.
        public let node: YAMLNode
        /// Its name in messages (`kiln.yml`, `publish`, `operators[2]`).
        public let context: String
        /// The values by key.
        public let values: [String: YAMLNode]

        /// The value of `key`, if present.
        public subscript(_ key: String) -> YAMLNode? { values[key] }

        /// The value of `key`, or an error at the mapping saying it is needed.
        public func required(_ key: String, _ what: String) throws(YAMLError) -> YAMLNode {
            guard let value = values[key] else { throw node.error("\(context) needs '\(key)' (\(what))") }
            return value
        }

        /// `context.key`, for messages about a value.
        public func name(_ key: String) -> String { context.isEmpty ? "'\(key)'" : "\(context).\(key)" }
    }
}

extension YAMLNode {
    /// The node as JSON, reading unquoted scalars as YAML 1.2's core schema does: `true`/`false`, `null` or `~`,
    /// whole numbers (any size kept as written), decimals; anything else, and every quoted scalar, is a string.
    public var json: JSONValue {
        switch kind {
        case .scalar(let text, let quoted):
            if quoted { return .string(text) }
            switch text {
            case "true": return .bool(true)
            case "false": return .bool(false)
            case "null", "~", "": return .null
            default: break
            }
            switch try? JSONValue.parse(bytes: Array(text.utf8)) {
            case .integer(let value): return .integer(value)
            case .decimal(let value): return .decimal(value)
            default: return .string(text)
            }
        case .mapping(let pairs):
            var members: [String: JSONValue] = [:]
            for (key, value) in pairs {
                if case .scalar(let name, _) = key.kind { members[name] = value.json }
            }
            return .object(members)
        case .sequence(let items): return .array(items.map(\.json))
        }
    }
}
