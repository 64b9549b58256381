// Kiln — Apache-2.0. See LICENSE.

public import BigInt
public import KilnCore

extension Template {
    /// The asset files (paths relative to the template folder) a render of `state` for `token` reads: the
    /// image and mask of every layer whose `when` holds. A preview uses them to re-render only the tokens an
    /// edited asset is part of.
    public func assetPaths(state: [String: Value], token: TokenKey) throws(TemplateError) -> [String] {
        let env = Environment(tokenId: token.id, contract: token.contract.lowercased, state: state)
        var paths: [String] = []
        for layer in layers {
            if let when = layer.when, case .bool(false) = try when.evaluate(in: env) { continue }
            if let (mask, _) = layer.mask { paths.append(try mask.evaluate(in: env)) }
            if case .image(let path) = layer.kind { paths.append(try path.evaluate(in: env)) }
        }
        return paths
    }
}

extension Template.Derived {
    /// Whether the trait is drawn (its expression calls `pick()` somewhere), as opposed to computed from the state
    /// alone: what makes two tokens look alike is their drawn traits (HashLips' "DNA").
    public var isDrawn: Bool { expression.callsPick }

    /// The weights written in the `pick()` that is this trait's whole expression, in the order written; `nil`
    /// for any other expression.
    public var weights: [(name: String, weight: BigInt)]? {
        guard case .call("pick", let arguments, _) = expression, arguments.count == 2,
            case .weights(let pairs, _) = arguments[1]
        else { return nil }
        return pairs.map { (name: $0.0, weight: $0.1) }
    }
}

extension Expression {
    var callsPick: Bool {
        switch self {
        case .call(let name, let arguments, _): name == "pick" || arguments.contains(where: \.callsPick)
        case .unary(_, let operand, _): operand.callsPick
        case .binary(_, let left, let right, _): left.callsPick || right.callsPick
        default: false
        }
    }
}
