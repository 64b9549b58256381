// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
internal import KilnCore
internal import KilnImage
internal import KilnYAML

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension Template {
    /// The file every template folder holds.
    public static let fileName = "template.yml"

    /// Loads and checks the template in `folder`: structure, types of every expression, event signatures,
    /// assets (present, decodable, inside the folder), layer geometry and rules.
    /// - Throws: ``TemplateError`` with every problem found, each at `template.yml:LINE:COL`.
    public static func load(folder: String) throws(TemplateError) -> Template {
        let path = folder + "/" + fileName
        let bytes: [UInt8]
        do {
            bytes = try FileBytes.read(path, limit: 4 << 20)
        } catch {
            let reason =
                switch error {
                case .unreadable(let why): why
                case .tooLarge(let limit): "larger than \(limit) bytes"
                }
            throw TemplateError(
                SourceLocation(file: path, line: 1, column: 1),
                "no template here: '\(path)' can't be read (\(reason))"
            )
        }
        return try parse(String(decoding: bytes, as: UTF8.self), folder: folder, file: path)
    }

    /// Checks template text as if it were `folder/template.yml` (assets are read from `folder`).
    public static func parse(_ text: String, folder: String, file: String? = nil) throws(TemplateError) -> Template {
        let path = file ?? folder + "/" + fileName
        var loader = TemplateLoader(folder: folder, file: path)
        let root: YAMLNode
        do { root = try YAMLNode.parse(text, file: path) } catch { throw TemplateError(error.location, error.message) }
        let template = loader.load(root)
        guard loader.problems.isEmpty, let template else { throw TemplateError(loader.problems) }
        return template
    }
}

/// Reads a template's YAML, collecting every problem instead of stopping at the first.
struct TemplateLoader {
    let folder: String
    let file: String
    var problems: [Diagnostic] = []

    mutating func report(_ location: SourceLocation, _ message: String) {
        problems.append(Diagnostic(location, message))
    }
    mutating func report(_ error: TemplateError) { problems += error.diagnostics }

    // MARK: - Shapes

    /// The keys of a mapping; unknown keys and missing required ones are reported.
    mutating func mapping(_ node: YAMLNode, _ context: String, allowed: [String], required: [String] = []) -> [String:
        YAMLNode]?
    {
        guard case .mapping(let pairs) = node.kind else {
            report(node.location, "\(context) must be a mapping (key: value), found \(node.kindName)")
            return nil
        }
        var out: [String: YAMLNode] = [:]
        for (key, value) in pairs {
            guard let name = key.scalar else {
                report(key.location, "keys of \(context) must be names")
                continue
            }
            guard allowed.contains(name) else {
                report(key.location, "unknown key '\(name)' in \(context)" + didYouMean(name, allowed))
                continue
            }
            out[name] = value
        }
        for name in required where out[name] == nil {
            report(node.location, "\(context) needs '\(name)'")
        }
        return out
    }

    mutating func string(_ node: YAMLNode?, _ context: String) -> String? {
        guard let node else { return nil }
        guard let value = node.scalar else {
            report(node.location, "\(context) must be text, found \(node.kindName)")
            return nil
        }
        return value
    }

    mutating func integer(_ node: YAMLNode, _ context: String, range: ClosedRange<Int>) -> Int? {
        guard let text = node.scalar, !node.isQuoted, let value = Int(text) else {
            report(node.location, "\(context) must be a whole number")
            return nil
        }
        guard range.contains(value) else {
            report(node.location, "\(context) must be \(range.lowerBound)…\(range.upperBound), found \(value)")
            return nil
        }
        return value
    }

    mutating func number(_ node: YAMLNode, _ context: String, range: ClosedRange<Double>) -> Double? {
        guard let text = node.scalar, !node.isQuoted, let value = Double(text), value.isFinite else {
            report(node.location, "\(context) must be a number")
            return nil
        }
        guard range.contains(value) else {
            report(node.location, "\(context) must be \(range.lowerBound)…\(range.upperBound), found \(value)")
            return nil
        }
        return value
    }

    /// `[a, b]` of whole numbers.
    mutating func pair(_ node: YAMLNode, _ context: String, range: ClosedRange<Int>) -> (Int, Int)? {
        guard case .sequence(let items) = node.kind, items.count == 2 else {
            report(node.location, "\(context) must be a pair like [\(range.lowerBound), \(range.lowerBound)]")
            return nil
        }
        guard let a = integer(items[0], context, range: range), let b = integer(items[1], context, range: range) else {
            return nil
        }
        return (a, b)
    }

    mutating func color(_ node: YAMLNode, _ context: String) -> Color? {
        guard let text = string(node, context) else { return nil }
        do {
            return try Color(hex: text)
        } catch {
            report(node.textLocation, "\(context): \(error.message)")
            return nil
        }
    }

    /// An expression from a scalar; `{{ … }}` around the whole text is accepted too.
    mutating func expression(_ node: YAMLNode, _ context: String, scope: TypeScope, expect: ValueType? = nil) -> (
        Expression, ValueType
    )? {
        guard var text = node.scalar else {
            report(node.location, "\(context) must be an expression, found \(node.kindName)")
            return nil
        }
        var location = node.textLocation
        if text.hasPrefix("{{") && text.hasSuffix("}}") && text.count >= 4 {
            text = String(text.dropFirst(2).dropLast(2))
            location = location.advanced(by: 2)
        }
        do {
            let expression = try Expression.parse(text, at: location)
            let type = try expression.type(in: scope)
            if let expect, type != expect, !(expect == .decimal && type == .int) {
                report(location, "\(context) must be \(expect == .int ? "an" : "a") \(expect), found \(type)")
                return nil
            }
            return (expression, type)
        } catch {
            report(error)
            return nil
        }
    }

    mutating func interpolation(_ node: YAMLNode, _ context: String, scope: TypeScope) -> Interpolation? {
        guard let text = string(node, context) else { return nil }
        do {
            let value = try Interpolation(text, at: node.textLocation)
            try value.check(in: scope)
            return value
        } catch {
            report(error)
            return nil
        }
    }

    static func isName(_ text: String) -> Bool {
        guard let first = text.first, first.isLetter || first == "_" else { return false }
        return text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_") }
    }

    // MARK: - The template

    mutating func load(_ root: YAMLNode) -> Template? {
        guard let top = mapping(root, "the template", allowed: TemplateKeys.top, required: ["name", "size", "layers"])
        else {
            return nil
        }
        let name = string(top["name"], "name") ?? ""
        var width = 0, height = 0
        if let node = top["size"], let size = pair(node, "size", range: 1...Raster.maxSide) { (width, height) = size }
        let background = top["background"].flatMap { fill($0, "background", width: width, height: height) }

        // State: traits, derived traits, events.
        var traits: [Template.Trait] = []
        var derived: [Template.Derived] = []
        var events: [Template.EventRule] = []
        if let node = top["state"], let state = mapping(node, "state", allowed: TemplateKeys.state) {
            if let traitsNode = state["traits"] { traits = readTraits(traitsNode) }
            if let deriveNode = state["derive"] { derived = readDerived(deriveNode, traits: traits) }
            if let eventsNode = state["events"] { events = readEvents(eventsNode, traits: traits) }
        }
        var types = Dictionary(uniqueKeysWithValues: traits.map { ($0.name, $0.type) })
        for item in derived { types[item.name] = item.type }
        let scope = TypeScope(state: types)

        let inference = top["inference"].flatMap { readInference($0, scope: scope) }
        var layers: [Template.Layer] = []
        if let node = top["layers"] {
            if case .sequence(let items) = node.kind {
                if items.isEmpty { report(node.location, "layers must not be empty") }
                for item in items {
                    if let layer = readLayer(
                        item,
                        scope: scope,
                        derived: derived,
                        inference: inference,
                        width: width,
                        height: height
                    ) {
                        layers.append(layer)
                    }
                }
            } else {
                report(node.location, "layers must be a list, found \(node.kindName)")
            }
        }
        let metadata =
            top["metadata"].flatMap { readMetadata($0, scope: scope) } ?? Template.Metadata(fields: [], attributes: [])
        let rules = top["rules"].map { readRules($0, traits: traits, derived: derived) } ?? []
        return Template(
            folder: folder,
            name: name,
            width: width,
            height: height,
            background: background,
            traits: traits,
            derived: derived,
            events: events,
            inference: inference,
            layers: layers,
            metadata: metadata,
            rules: rules
        )
    }

    mutating func readTraits(_ node: YAMLNode) -> [Template.Trait] {
        guard case .mapping(let pairs) = node.kind else {
            report(node.location, "state.traits must be a mapping of name: {type, default}")
            return []
        }
        var traits: [Template.Trait] = []
        for (key, value) in pairs {
            guard let name = key.scalar, Self.isName(name) else {
                report(key.location, "a trait name must be a name (letters, digits, _)")
                continue
            }
            guard
                let spec = mapping(
                    value,
                    "trait '\(name)'",
                    allowed: TemplateKeys.trait,
                    required: ["type", "default"]
                ),
                let typeNode = spec["type"], let typeName = string(typeNode, "type"), let defaultNode = spec["default"]
            else { continue }
            guard let type = ValueType(rawValue: typeName) else {
                report(
                    typeNode.location,
                    "unknown type '\(typeName)' (int, decimal, string, bool)"
                        + didYouMean(typeName, ["int", "decimal", "string", "bool"])
                )
                continue
            }
            guard let initial = literal(defaultNode, type) else {
                report(defaultNode.location, "default of '\(name)' must be \(type == .int ? "an" : "a") \(type)")
                continue
            }
            traits.append(Template.Trait(name: name, type: type, initial: initial, location: key.location))
        }
        return traits
    }

    func literal(_ node: YAMLNode, _ type: ValueType) -> Value? {
        guard let text = node.scalar else { return nil }
        switch type {
        case .int: return node.isQuoted ? nil : BigInt(text, radix: 10).map(Value.int)
        case .decimal: return node.isQuoted ? nil : Double(text).map(Value.decimal)
        case .bool: return node.isQuoted ? nil : (text == "true" ? .bool(true) : text == "false" ? .bool(false) : nil)
        case .string: return .string(text)
        }
    }

    mutating func readDerived(_ node: YAMLNode, traits: [Template.Trait]) -> [Template.Derived] {
        guard case .mapping(let pairs) = node.kind else {
            report(node.location, "state.derive must be a mapping of name: expression")
            return []
        }
        var types = Dictionary(uniqueKeysWithValues: traits.map { ($0.name, $0.type) })
        var derived: [Template.Derived] = []
        for (key, value) in pairs {
            guard let name = key.scalar, Self.isName(name) else {
                report(key.location, "a derived trait name must be a name (letters, digits, _)")
                continue
            }
            guard types[name] == nil else {
                report(key.location, "'\(name)' is already a trait")
                continue
            }
            guard let (expression, type) = self.expression(value, "derive.\(name)", scope: TypeScope(state: types))
            else { continue }
            let choices = Self.choices(of: expression)
            types[name] = type
            derived.append(Template.Derived(name: name, expression: expression, type: type, choices: choices))
        }
        return derived
    }

    /// The finite set of strings an expression can give — string literals, `pick()` names, and `if()` over
    /// those — or `nil` when it can give anything.
    static func choices(of expression: Expression) -> [String]? {
        switch expression {
        case .string(let value, _): return [value]
        case .call("pick", let arguments, _):
            guard arguments.count == 2, case .weights(let pairs, _) = arguments[1] else { return nil }
            return pairs.filter { $0.1 > 0 }.map(\.0)
        case .call("if", let arguments, _) where arguments.count == 3:
            guard let a = choices(of: arguments[1]), let b = choices(of: arguments[2]) else { return nil }
            return a + b.filter { !a.contains($0) }
        default: return nil
        }
    }

    mutating func readEvents(_ node: YAMLNode, traits: [Template.Trait]) -> [Template.EventRule] {
        guard case .sequence(let items) = node.kind else {
            report(node.location, "state.events must be a list")
            return []
        }
        let traitTypes = Dictionary(uniqueKeysWithValues: traits.map { ($0.name, $0.type) })
        var events: [Template.EventRule] = []
        for item in items {
            guard
                let spec = mapping(
                    item,
                    "an event",
                    allowed: TemplateKeys.event,
                    required: ["signature", "token", "set"]
                ),
                let signatureNode = spec["signature"], let text = string(signatureNode, "signature")
            else { continue }
            let signature: EventSignature
            do {
                signature = try EventSignature(text)
            } catch {
                report(signatureNode.textLocation, error.message)
                continue
            }
            let parameterTypes = Dictionary(
                uniqueKeysWithValues: signature.parameters.map { ($0.name, ValueType($0.type)) }
            )
            var tokenParameter = ""
            if let tokenNode = spec["token"], let name = string(tokenNode, "token") {
                if parameterTypes[name] == .int {
                    tokenParameter = name
                } else if let type = parameterTypes[name] {
                    report(
                        tokenNode.textLocation,
                        "token must name an integer parameter of \(signature.name); '\(name)' is a \(type)"
                    )
                } else {
                    report(
                        tokenNode.textLocation,
                        "token must name an integer parameter of \(signature.name)"
                            + didYouMean(name, signature.parameters.map(\.name))
                    )
                }
            }
            var sets: [(String, Expression)] = []
            if let setNode = spec["set"] {
                if case .mapping(let pairs) = setNode.kind {
                    for (key, value) in pairs {
                        guard let trait = key.scalar, let type = traitTypes[trait] else {
                            report(
                                key.location,
                                "'set' can only change declared traits; '\(key.scalar ?? "?")' is not one"
                                    + didYouMean(key.scalar ?? "", traitTypes.keys)
                            )
                            continue
                        }
                        let scope = TypeScope(state: traitTypes, event: parameterTypes)
                        if let (expression, _) = expression(value, "set.\(trait)", scope: scope, expect: type) {
                            sets.append((trait, expression))
                        }
                    }
                } else {
                    report(setNode.location, "'set' must be a mapping of trait: expression")
                }
            }
            events.append(
                Template.EventRule(
                    signature: signature,
                    tokenParameter: tokenParameter,
                    sets: sets,
                    location: item.location
                )
            )
        }
        return events
    }

    mutating func readInference(_ node: YAMLNode, scope: TypeScope) -> Template.Inference? {
        guard
            let spec = mapping(
                node,
                "inference",
                allowed: TemplateKeys.inference,
                required: ["model", "input", "size"]
            )
        else { return nil }
        let model = string(spec["model"], "inference.model") ?? ""
        var input: [(String, Expression)] = []
        if let inputNode = spec["input"] {
            if case .mapping(let pairs) = inputNode.kind {
                for (key, value) in pairs {
                    guard let name = key.scalar else { continue }
                    if let (expression, _) = expression(value, "inference.input.\(name)", scope: scope) {
                        input.append((name, expression))
                    }
                }
            } else {
                report(inputNode.location, "inference.input must be a mapping of name: expression")
            }
        }
        guard let sizeNode = spec["size"], let (w, h) = pair(sizeNode, "inference.size", range: 1...4096) else {
            return nil
        }
        var agreement = AgreementPolicy.exact
        if let policyNode = spec["agreement"] {
            // A bad policy is reported; the section is kept (as exact) so that no follow-on error is reported.
            let policy = readAgreement(policyNode) ?? .exact
            agreement = policy
            if !policy.isExact, let clash = input.first(where: { $0.0 == "agreement" }) {
                report(policyNode.location, "inference.input.\(clash.0): the name 'agreement' carries the policy")
                return nil
            }
        }
        return Template.Inference(
            model: model,
            input: input,
            width: w,
            height: h,
            agreement: agreement,
            location: node.location
        )
    }

    /// `agreement: exact` or `agreement: {max_channel_diff: 8, max_mse: 2.5}` (MSE with at most three decimals).
    mutating func readAgreement(_ node: YAMLNode) -> AgreementPolicy? {
        if let scalar = node.scalar {
            guard scalar == "exact" else {
                report(node.location, "inference.agreement must be 'exact' or a mapping {max_channel_diff, max_mse}")
                return nil
            }
            return .exact
        }
        guard
            let spec = mapping(
                node,
                "inference.agreement",
                allowed: TemplateKeys.agreement,
                required: ["max_channel_diff", "max_mse"]
            ),
            let channelNode = spec["max_channel_diff"], let mseNode = spec["max_mse"],
            let channel = integer(channelNode, "inference.agreement.max_channel_diff", range: 0...255)
        else { return nil }
        guard let text = mseNode.scalar, let milli = Self.milli(text), milli <= AgreementPolicy.maxMSEMilli else {
            report(
                mseNode.location,
                "inference.agreement.max_mse must be a number 0…65025 with at most three decimals, like 2.5"
            )
            return nil
        }
        return .pixels(maxChannelDiff: channel, maxMSEMilli: milli)
    }

    /// "2.5" → 2500: a decimal with at most three fraction digits, exactly, in thousandths.
    static func milli(_ text: String) -> Int? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count), !parts[0].isEmpty, parts[0].count <= 6,
            parts[0].allSatisfy({ $0.isASCII && $0.isNumber }), let whole = Int(parts[0]), whole >= 0
        else { return nil }
        var fraction = 0
        if parts.count == 2 {
            let digits = parts[1]
            guard (1...3).contains(digits.count), digits.allSatisfy({ $0.isASCII && $0.isNumber }),
                let value = Int(digits)
            else { return nil }
            fraction = value * [1, 100, 10, 1][digits.count]
        }
        return whole * 1000 + fraction
    }

    mutating func fill(_ node: YAMLNode, _ context: String, width: Int, height: Int) -> Template.Fill? {
        if node.scalar != nil { return color(node, context).map { .color($0) } }
        guard let spec = mapping(node, context, allowed: TemplateKeys.fill, required: ["gradient"]),
            let gradientNode = spec["gradient"],
            let g = mapping(
                gradientNode,
                "\(context).gradient",
                allowed: TemplateKeys.gradient,
                required: ["from", "to", "stops"]
            ),
            let fromNode = g["from"], let toNode = g["to"], let stopsNode = g["stops"],
            let from = pair(fromNode, "gradient.from", range: -Raster.maxSide...2 * Raster.maxSide),
            let to = pair(toNode, "gradient.to", range: -Raster.maxSide...2 * Raster.maxSide)
        else { return nil }
        guard case .sequence(let items) = stopsNode.kind, !items.isEmpty else {
            report(stopsNode.location, "gradient.stops must be a list like [[0, \"#000000\"], [1, \"#ffffff\"]]")
            return nil
        }
        var stops: [LinearGradient.Stop] = []
        for item in items {
            guard case .sequence(let parts) = item.kind, parts.count == 2,
                let offset = number(parts[0], "a stop's offset", range: 0...1),
                let color = color(parts[1], "a stop's colour")
            else {
                if case .sequence(let parts) = item.kind, parts.count == 2 { continue }
                report(item.location, "a gradient stop must be [offset, \"#colour\"]")
                continue
            }
            stops.append(.init(offset: offset, color: color))
        }
        guard let gradient = try? LinearGradient(start: from, end: to, stops: stops) else { return nil }
        return .gradient(gradient)
    }
}
