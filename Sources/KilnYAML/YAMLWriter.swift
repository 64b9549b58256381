// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
internal import Yams

/// Writes YAML files Kiln generates (the demo's kiln.yml and operators.yml) through Yams' emitter, so every
/// value is quoted as YAML needs; keys in sorted order, so the same values give the same text.
public enum YAMLWriter {
    /// `value` as a YAML document, after `comment` lines (each prefixed with `# `).
    /// - Throws: ``YAMLError`` when the emitter fails.
    public static func document(_ value: JSONValue, comment: [String] = []) throws(YAMLError) -> String {
        let header = comment.map { "# \($0)\n" }.joined()
        do {
            return header + (try Yams.serialize(node: node(value), sortKeys: true))
        } catch {
            throw YAMLError(
                SourceLocation(file: "<generated>", line: 1, column: 1),
                "Unable to write YAML: \(error)",
                cause: error
            )
        }
    }

    private static func node(_ value: JSONValue) -> Node {
        switch value {
        case .null: Node("null", Tag(.null))
        case .bool(let flag): Node(flag ? "true" : "false", Tag(.bool))
        case .integer(let number): Node(String(number), Tag(.int))
        case .decimal(let number): Node(String(number), Tag(.float))
        // Text is always quoted, so an address or a number-like string stays text.
        case .string(let text): Node(text, Tag(.str), .doubleQuoted)
        case .array(let items): Node(items.map(node))
        case .object(let fields): Node(fields.sorted { $0.key < $1.key }.map { (Node($0.key), node($0.value)) })
        }
    }
}
