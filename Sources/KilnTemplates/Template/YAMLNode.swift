// Kiln — Apache-2.0. See LICENSE.

internal import Yams

/// A YAML node with its position, converted once from Yams' composed tree (so the rest of Kiln is Sendable
/// and never sees Yams types).
struct YAMLNode: Sendable {
    enum Kind: Sendable {
        case scalar(String, quoted: Bool)
        case mapping([(key: YAMLNode, value: YAMLNode)])
        case sequence([YAMLNode])
    }

    var kind: Kind
    var location: SourceLocation

    /// Parses YAML text.
    /// - Throws: ``TemplateError`` at the position libyaml reports.
    static func parse(_ text: String, file: String) throws(TemplateError) -> YAMLNode {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.error(error, file: file)
        } catch {
            throw TemplateError(SourceLocation(file: file, line: 1, column: 1), "not valid YAML: \(error)")
        }
        guard let node else { throw TemplateError(SourceLocation(file: file, line: 1, column: 1), "the file is empty") }
        return try YAMLNode(node, file: file)
    }

    init(_ node: Node, file: String) throws(TemplateError) {
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
            throw TemplateError(location, "YAML aliases (*name) are not supported in templates")
        }
    }

    private static func error(_ error: YamlError, file: String) -> TemplateError {
        switch error {
        case .scanner(_, let problem, let mark, _), .parser(_, let problem, let mark, _), .composer(_, let problem, let mark, _):
            return TemplateError(SourceLocation(file: file, line: mark.line, column: mark.column), "YAML: \(problem)")
        case .duplicatedKeysInMapping(let duplicates, let context):
            let mark = context.mark
            return TemplateError(
                SourceLocation(file: file, line: mark.line, column: mark.column),
                "duplicate key\(duplicates.count > 1 ? "s" : "") \(duplicates.map { "'\($0)'" }.joined(separator: ", "))")
        default:
            return TemplateError(SourceLocation(file: file, line: 1, column: 1), "YAML: \(error)")
        }
    }

    // MARK: - Reading

    var scalar: String? {
        if case .scalar(let s, _) = kind { return s }
        return nil
    }

    var isQuoted: Bool {
        if case .scalar(_, let quoted) = kind { return quoted }
        return false
    }

    var kindName: String {
        switch kind {
        case .scalar: "a value"
        case .mapping: "a mapping"
        case .sequence: "a list"
        }
    }

    /// Where the text of a scalar starts (after an opening quote).
    var textLocation: SourceLocation { isQuoted ? location.advanced(by: 1) : location }
}
