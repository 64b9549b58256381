// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

extension Template {
    /// ERC-721 metadata (OpenSea's fields) for `state`, with `image` set to `imageURI` (e.g. `ipfs://<cid>`).
    ///
    /// A value written as exactly `{{ expression }}` keeps its type (a number stays a number); any other text is
    /// a string with its holes filled in. Attributes whose `when` is false are left out.
    public func metadata(state: [String: Value], token: TokenKey, imageURI: String?) throws(TemplateError) -> JSONValue
    {
        let env = Environment(tokenId: token.id, contract: token.contract.lowercased, state: state)
        var object: [String: JSONValue] = [:]
        for (name, value) in metadata.fields {
            object[name] = .string(try value.evaluate(in: env))
        }
        if let imageURI { object["image"] = .string(imageURI) }
        var attributes: [JSONValue] = []
        for attribute in metadata.attributes {
            if let when = attribute.when, case .bool(false) = try when.evaluate(in: env) { continue }
            var entry: [String: JSONValue] = [:]
            let traitType = try attribute.traitType.evaluate(in: env)
            if !traitType.isEmpty { entry["trait_type"] = .string(traitType) }
            if let sole = attribute.value.soleExpression {
                entry["value"] = try sole.evaluate(in: env).json
            } else {
                entry["value"] = .string(try attribute.value.evaluate(in: env))
            }
            if let displayType = attribute.displayType { entry["display_type"] = .string(displayType) }
            if let maxValue = attribute.maxValue { entry["max_value"] = Value.decimal(maxValue).json }
            attributes.append(.object(entry))
        }
        if !metadata.attributes.isEmpty { object["attributes"] = .array(attributes) }
        return .object(object)
    }
}
