// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
public import KilnCore

extension Template {
    /// The traits before any event: every trait at its default.
    public var initialState: [String: Value] {
        Dictionary(uniqueKeysWithValues: traits.map { ($0.name, $0.initial) })
    }

    /// Applies `logs` in order to `state` for `token`: logs of other contracts, other events and other tokens
    /// are skipped; removed (reorged) logs too. Pure: the same logs always give the same state.
    /// - Throws: ``TemplateError`` when a log claims to be a template event but does not decode, or a `set`
    ///   expression fails at run time.
    public func fold(_ logs: [EventLog], token: TokenKey, from state: [String: Value]? = nil) throws(TemplateError)
        -> [String: Value]
    {
        var state = state ?? initialState
        let topics = Dictionary(events.map { ($0.signature.topic0, $0) }, uniquingKeysWith: { first, _ in first })
        for log in logs where !log.removed && log.address == token.contract {
            guard let topic0 = log.topics.first, let rule = topics[topic0] else { continue }
            let decoded: DecodedEvent
            do {
                decoded = try rule.signature.decode(log)
            } catch {
                throw TemplateError(
                    rule.location,
                    "log \(log.blockNumber.map { "in block \($0) " } ?? "")does not decode as \(rule.signature.canonical): \(error.message)",
                    cause: error
                )
            }
            guard case .uint(let id)? = decoded[rule.tokenParameter], id == token.id else { continue }
            var fields: [String: Value] = [:]
            for field in decoded.fields { fields[field.name] = Value(field.value) }
            let env = Environment(tokenId: token.id, contract: token.contract.lowercased, state: state, event: fields)
            var updates: [String: Value] = [:]
            for (trait, expression) in rule.sets {
                var value = try expression.evaluate(in: env)
                if case .int(let i) = value, traits.first(where: { $0.name == trait })?.type == .decimal {
                    value = .decimal(Double(i))
                }
                updates[trait] = value
            }
            state.merge(updates) { _, new in new }
        }
        return state
    }

    /// The topic positions (1…3) at which the event rules' token parameters are, when every one is indexed: then
    /// a token's logs are those with the token's id at one of these topics (a store finds them by index). Nil when
    /// a rule names its token in the log's data: only a fold of every log finds those.
    public var tokenTopicPositions: Set<Int>? {
        var positions: Set<Int> = []
        for rule in events {
            let indexed = rule.signature.parameters.filter(\.indexed)
            guard let at = indexed.firstIndex(where: { $0.name == rule.tokenParameter }) else { return nil }
            positions.insert(at + 1)
        }
        return positions
    }

    /// The full state: `traits` (folded) plus every derived trait, computed in order.
    public func derive(_ traits: [String: Value], token: TokenKey) throws(TemplateError) -> [String: Value] {
        var state = traits
        for item in derived {
            let env = Environment(tokenId: token.id, contract: token.contract.lowercased, state: state)
            state[item.name] = try item.expression.evaluate(in: env)
        }
        return state
    }

    /// A state read from JSON (`kiln render --state`): every key must be a declared trait of the right type;
    /// missing traits keep their defaults.
    public func state(fromJSON json: JSONValue, source: String) throws(TemplateError) -> [String: Value] {
        let here = SourceLocation(file: source, line: 1, column: 1)
        guard case .object(let members) = json else {
            throw TemplateError(here, "the state must be a JSON object of trait: value")
        }
        var state = initialState
        var problems: [Diagnostic] = []
        for (name, value) in members.sorted(by: { $0.key < $1.key }) {
            guard let trait = traits.first(where: { $0.name == name }) else {
                problems.append(
                    Diagnostic(here, "'\(name)' is not a trait of this template" + didYouMean(name, traits.map(\.name)))
                )
                continue
            }
            guard let typed = Value(json: value, as: trait.type) else {
                problems.append(Diagnostic(here, "'\(name)' must be \(trait.type == .int ? "an" : "a") \(trait.type)"))
                continue
            }
            state[name] = typed
        }
        guard problems.isEmpty else { throw TemplateError(problems) }
        return state
    }

    /// The rules `state` breaks (empty when it keeps them all).
    public func violations(of state: [String: Value]) -> [Rule] {
        func holds(_ pairs: [(String, String)]) -> Bool { pairs.allSatisfy { state[$0.0]?.description == $0.1 } }
        return rules.filter { rule in
            switch rule.kind {
            case .exclude(let pairs): holds(pairs)
            case .require(let when, let then): holds(when) && !holds(then)
            }
        }
    }

    /// The inference input as canonical JSON, and its Keccak-256 (`inputHash`). The output size is part of it
    /// (`width`, `height` from `inference.size`, unless the input map sets them), so it is attested too, and so is
    /// a non-exact agreement policy (`agreement`).
    public func inferenceInput(state: [String: Value], token: TokenKey) throws(TemplateError) -> (
        json: JSONValue, hash: Bytes32
    )? {
        guard let inference else { return nil }
        let env = Environment(tokenId: token.id, contract: token.contract.lowercased, state: state)
        var members: [String: JSONValue] = ["width": .number(inference.width), "height": .number(inference.height)]
        for (name, expression) in inference.input { members[name] = try expression.evaluate(in: env).json }
        // A tolerance policy is part of what is attested; `exact` adds nothing, so its inputs are as they were.
        if !inference.agreement.isExact { members["agreement"] = inference.agreement.json }
        let json = JSONValue.object(members)
        guard let hash = try? json.canonicalHash() else {
            throw TemplateError(inference.location, "the inference input has a non-finite number")
        }
        return (json, hash)
    }
}

extension Template.Rule: CustomStringConvertible {
    public var description: String {
        func text(_ pairs: [(String, String)]) -> String { pairs.map { "\($0.0)=\($0.1)" }.joined(separator: " with ") }
        switch kind {
        case .exclude(let pairs): return "exclude \(text(pairs))"
        case .require(let when, let then): return "require \(text(then)) when \(text(when))"
        }
    }
}
