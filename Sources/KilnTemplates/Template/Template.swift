// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
public import KilnImage

/// A creator's template: how events change a token's state, what inference to ask for, how layers compose
/// into the image, and what the metadata says. Loaded and fully checked by ``Template/load(folder:)``.
public struct Template: Sendable {
    /// A declared trait: its type and its value before any event.
    public struct Trait: Sendable {
        public var name: String
        public var type: ValueType
        public var initial: Value
        public var location: SourceLocation
    }

    /// A trait computed from the others after the events are folded (`state.derive`).
    public struct Derived: Sendable {
        public var name: String
        public var expression: Expression
        public var type: ValueType
        /// The values a `pick()` can give, when the expression is a pick: used for static checks and stats.
        public var choices: [String]?
    }

    /// An event that changes state.
    public struct EventRule: Sendable {
        public var signature: EventSignature
        /// The parameter that names the token.
        public var tokenParameter: String
        public var sets: [(trait: String, expression: Expression)]
        public var location: SourceLocation
    }

    public struct Inference: Sendable {
        public var model: String
        public var input: [(name: String, expression: Expression)]
        public var width: Int
        public var height: Int
        /// When operators' outputs count as one answer (`exact` unless the template says otherwise).
        public var agreement: AgreementPolicy = .exact
        public var location: SourceLocation
    }

    public enum Fill: Hashable, Sendable {
        case color(Color)
        case gradient(LinearGradient)
    }

    public struct Layer: Sendable {
        public enum Kind: Sendable {
            case image(Interpolation)
            case inference
            case fill(Fill)
            case text(Interpolation, color: Color, scale: Int)
        }
        public var kind: Kind
        public var x: Int
        public var y: Int
        public var width: Int?
        public var height: Int?
        public var when: Expression?
        public var blend: BlendMode
        public var opacity: Double
        public var mask: (image: Interpolation, channel: MaskChannel)?
        public var location: SourceLocation
    }

    public struct Attribute: Sendable {
        public var traitType: Interpolation
        public var value: Interpolation
        public var displayType: String?
        public var maxValue: Double?
        public var when: Expression?
    }

    public struct Metadata: Sendable {
        public var fields: [(name: String, value: Interpolation)]
        public var attributes: [Attribute]
    }

    /// `exclude`: these trait values never together; `require`: the `if` values need the `then` values.
    public struct Rule: Sendable {
        public enum Kind: Sendable {
            case exclude([(String, String)])
            case require(when: [(String, String)], then: [(String, String)])
        }
        public var kind: Kind
        public var location: SourceLocation
    }

    public var folder: String
    public var name: String
    public var width: Int
    public var height: Int
    public var background: Fill?
    public var traits: [Trait]
    public var derived: [Derived]
    public var events: [EventRule]
    public var inference: Inference?
    public var layers: [Layer]
    public var metadata: Metadata
    public var rules: [Rule]
    /// Decoded assets and fixed fills, shared by every render of this template (and its copies).
    public let renderCache = RenderCache()
    /// Keccak-256 over every file of the template folder (path and bytes, sorted by path): a change to any file
    /// is a new template version. Reads the folder each time it is called.
    public func contentHash() -> Bytes32 { TemplateLoader.contentHash(folder: folder) }

    /// The types of every state name (traits and derived traits).
    public var stateTypes: [String: ValueType] {
        var types = Dictionary(uniqueKeysWithValues: traits.map { ($0.name, $0.type) })
        for item in derived { types[item.name] = item.type }
        return types
    }
}
