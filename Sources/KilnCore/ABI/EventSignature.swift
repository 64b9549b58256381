// Kiln — Apache-2.0. See LICENSE.

/// A Solidity event declaration, parsed from its human-readable signature.
///
/// ```swift
/// let levelUp = try EventSignature("LevelUp(uint256 indexed tokenId, uint256 level)")
/// levelUp.canonical  // "LevelUp(uint256,uint256)"
/// let event = try levelUp.decode(log)
/// event["level"]     // .uint(7)
/// ```
public struct EventSignature: Hashable, Sendable, CustomStringConvertible {
    /// One declared parameter.
    public struct Parameter: Hashable, Sendable {
        /// The parameter's name.
        public var name: String
        /// Its Solidity type.
        public var type: ABIType
        /// Whether it is a topic (indexed) rather than in the data.
        public var indexed: Bool
        /// A parameter.
        public init(name: String, type: ABIType, indexed: Bool) {
            self.name = name
            self.type = type
            self.indexed = indexed
        }
    }

    /// The event's name.
    public let name: String
    /// Its parameters, in order.
    public let parameters: [Parameter]

    /// The signature in canonical form, `Name(type1,type2)`, as hashed for topic0.
    public var canonical: String { name + "(" + parameters.map(\.type.description).joined(separator: ",") + ")" }

    /// The log's first topic: Keccak-256 of ``canonical``.
    public var topic0: Bytes32 { Keccak256.hash(utf8: canonical) }

    /// The signature as written in Solidity, with names and `indexed`.
    public var description: String {
        name + "("
            + parameters.map { "\($0.type)\($0.indexed ? " indexed" : "") \($0.name)" }.joined(separator: ", ") + ")"
    }

    /// An event from its name and parameters.
    public init(name: String, parameters: [Parameter]) {
        self.name = name
        self.parameters = parameters
    }

    /// Parses `Name(type [indexed] [name], …)`.
    ///
    /// Unnamed parameters are called `arg0`, `arg1`, … by position. At most three may be indexed.
    /// - Throws: ``FormatError/Code/invalidSignature`` with the column (from 1) where parsing stopped, or
    ///   ``FormatError/Code/unsupportedType`` for a type Kiln can't decode.
    public init(_ text: String) throws(FormatError) {
        let chars = Array(text)
        var index = 0
        func fail(_ message: String) -> FormatError {
            FormatError(
                .invalidSignature,
                "Unable to parse event signature '\(Hex.preview(text))' at column \(index + 1): \(message)"
            )
        }
        func skipSpaces() { while index < chars.count, chars[index].isWhitespace { index += 1 } }
        func identifier() -> String {
            let start = index
            while index < chars.count, chars[index].isASCII,
                chars[index].isLetter || chars[index].isNumber || chars[index] == "_" || chars[index] == "$"
                    || (index > start && chars[index] == "[") || (index > start && chars[index] == "]")
            {
                index += 1
            }
            return String(chars[start..<index])
        }

        skipSpaces()
        let name = identifier()
        guard let first = name.first, !first.isNumber else { throw fail("expected the event name") }
        skipSpaces()
        guard index < chars.count, chars[index] == "(" else { throw fail("expected '('") }
        index += 1
        var parameters: [Parameter] = []
        skipSpaces()
        if index < chars.count, chars[index] == ")" {
            index += 1
        } else {
            while true {
                skipSpaces()
                let typeColumn = index
                let typeName = identifier()
                guard !typeName.isEmpty else { throw fail("expected a parameter type") }
                let type: ABIType
                do {
                    type = try ABIType(parsing: typeName)
                } catch {
                    index = typeColumn
                    throw error.context("Unable to parse event signature '\(Hex.preview(text))' at column \(index + 1)")
                }
                skipSpaces()
                var word = identifier()
                var indexed = false
                if word == "indexed" {
                    indexed = true
                    skipSpaces()
                    word = identifier()
                }
                if word.isEmpty { word = "arg\(parameters.count)" }
                guard !parameters.contains(where: { $0.name == word }) else {
                    throw fail("duplicate parameter name '\(word)'")
                }
                parameters.append(Parameter(name: word, type: type, indexed: indexed))
                skipSpaces()
                guard index < chars.count else { throw fail("expected ',' or ')'") }
                if chars[index] == "," {
                    index += 1
                    continue
                }
                guard chars[index] == ")" else { throw fail("expected ',' or ')'") }
                index += 1
                break
            }
        }
        skipSpaces()
        guard index == chars.count else { throw fail("unexpected text after ')'") }
        guard parameters.filter(\.indexed).count <= 3 else {
            throw fail("at most 3 parameters can be indexed")
        }
        self.name = name
        self.parameters = parameters
    }
}
