// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
internal import Yams

/// A problem in a YAML file Kiln reads, at its line and column.
public struct YAMLError: CausedError, Hashable, Sendable {
    /// Where in the file.
    public var location: SourceLocation
    /// What is wrong.
    public var message: String
    /// The error this one wraps (Yams' own), if any.
    public var cause: (any Error)?

    /// A problem at `location`.
    public init(_ location: SourceLocation, _ message: String, cause: (any Error)? = nil) {
        self.location = location
        self.message = message
        self.cause = cause
    }

    /// Equal when location and message are (the cause is context).
    public static func == (lhs: YAMLError, rhs: YAMLError) -> Bool {
        lhs.location == rhs.location && lhs.message == rhs.message
    }
    /// Hashes location and message.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(location)
        hasher.combine(message)
    }

    /// `file:line:column: message`.
    public var description: String { "\(location): \(message)" }
}

/// A YAML node with its position, converted once from Yams' composed tree, so that every YAML file Kiln reads
/// (templates, `kiln.yml`, `operators.yml`) goes through one reader, reports `file:line:column`, and the rest of
/// Kiln never sees Yams types.
public struct YAMLNode: Sendable {
    /// What the node is.
    public enum Kind: Sendable {
        /// A scalar's text, and whether it was quoted (quoted text is never a number).
        case scalar(String, quoted: Bool)
        /// A mapping's pairs, in file order.
        case mapping([(key: YAMLNode, value: YAMLNode)])
        /// A list.
        case sequence([YAMLNode])
    }

    /// What the node is.
    public var kind: Kind
    /// Where it starts.
    public var location: SourceLocation

    /// Parses YAML text; aliases are refused.
    /// - Throws: ``YAMLError`` at the position libyaml reports.
    public static func parse(_ text: String, file: String) throws(YAMLError) -> YAMLNode {
        let start = SourceLocation(file: file, line: 1, column: 1)
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.error(error, file: file)
        } catch {
            throw YAMLError(start, "not valid YAML: \(error)", cause: error)
        }
        guard let node else { throw YAMLError(start, "the file is empty") }
        return try YAMLNode(node, file: file)
    }

    /// Reads the file at `path` (at most `limit` bytes) and parses it.
    /// - Throws: ``YAMLError`` at line 1 when the file can't be read, else as ``parse(_:file:)``.
    public static func load(_ path: String, limit: Int = 1 << 20) throws(YAMLError) -> YAMLNode {
        let bytes: [UInt8]
        do { bytes = try FileBytes.read(path, limit: limit) } catch {
            let reason =
                switch error {
                case .unreadable(let why): why
                case .tooLarge(let limit): "larger than \(limit) bytes"
                }
            throw YAMLError(SourceLocation(file: path, line: 1, column: 1), "Unable to read '\(path)' (\(reason))")
        }
        return try parse(String(decoding: bytes, as: UTF8.self), file: path)
    }

    init(_ node: Node, file: String) throws(YAMLError) {
        location = SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
        switch node {
        case .scalar(let scalar):
            kind = .scalar(scalar.string, quoted: scalar.style == .singleQuoted || scalar.style == .doubleQuoted)
        case .mapping(let mapping):
            var pairs: [(key: YAMLNode, value: YAMLNode)] = []
            for (key, value) in mapping {
                pairs.append((try YAMLNode(key, file: file), try YAMLNode(value, file: file)))
            }
            kind = .mapping(pairs)
        case .sequence(let sequence):
            var items: [YAMLNode] = []
            for item in sequence { items.append(try YAMLNode(item, file: file)) }
            kind = .sequence(items)
        case .alias:
            throw YAMLError(location, "YAML aliases (*name) are not supported")
        }
    }

    private static func error(_ error: YamlError, file: String) -> YAMLError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _),
            .composer(_, let problem, let mark, _):
            return YAMLError(SourceLocation(file: file, line: mark.line, column: mark.column), "YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let mark = context.mark
            return YAMLError(
                SourceLocation(file: file, line: mark.line, column: mark.column),
                "duplicate key\(duplicates.count > 1 ? "s" : "") \(duplicates.map { "'\($0)'" }.joined(separator: ", "))"
            )
        default:
            return YAMLError(SourceLocation(file: file, line: 1, column: 1), "YAML: \(error)", cause: error)
        }
    }

    // MARK: - Reading

    /// The text of a scalar; nil for a mapping or a list.
    public var scalar: String? {
        if case .scalar(let s, _) = kind { return s }
        return nil
    }

    /// Whether a scalar was quoted.
    public var isQuoted: Bool {
        if case .scalar(_, let quoted) = kind { return quoted }
        return false
    }

    /// "a value", "a mapping" or "a list", for messages.
    public var kindName: String {
        switch kind {
        case .scalar: "a value"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    /// Where the text of a scalar starts (after an opening quote).
    public var textLocation: SourceLocation { isQuoted ? location.advanced(by: 1) : location }

    /// A problem at this node.
    public func error(_ message: String, cause: (any Error)? = nil) -> YAMLError {
        YAMLError(location, message, cause: cause)
    }
}
