// Kiln — Apache-2.0. See LICENSE.

/// The keys `template.yml` accepts, one list per mapping: the loader checks each mapping against its list, and
/// ``paths`` names them all as the reference page does (docs/reference/template-yml.md; a test compares the two).
public enum TemplateKeys {
    /// The top level.
    public static let top = ["name", "size", "background", "state", "inference", "layers", "metadata", "rules"]
    /// `state`.
    public static let state = ["traits", "derive", "events"]
    /// `state.traits.NAME`.
    public static let trait = ["type", "default"]
    /// `state.events[]`.
    public static let event = ["signature", "token", "set"]
    /// `inference`.
    public static let inference = ["model", "input", "size", "agreement"]
    /// `inference.agreement` when it is a mapping.
    public static let agreement = ["max_channel_diff", "max_mse"]
    /// A fill given as a mapping (`background`, a layer's `fill`).
    public static let fill = ["gradient"]
    /// `….gradient`.
    public static let gradient = ["from", "to", "stops"]
    /// `layers[]`.
    public static let layer = [
        "image", "inference", "fill", "text", "at", "size", "when", "blend", "opacity", "mask", "color", "scale",
    ]
    /// `layers[].mask`.
    public static let mask = ["image", "channel"]
    /// `metadata` (`attributes` last: the others are read in this order).
    public static let metadata = [
        "name", "description", "external_url", "background_color", "animation_url", "attributes",
    ]
    /// `metadata.attributes[]`.
    public static let attribute = ["trait_type", "value", "display_type", "max_value", "when"]
    /// `rules[]`.
    public static let rule = ["exclude", "require"]
    /// `rules[].require`.
    public static let require = ["if", "then"]

    /// Every key path, as the reference writes them (`NAME` for a name the author chooses, `[]` for a list item).
    public static let paths: [String] =
        top + state.map { "state.\($0)" } + trait.map { "state.traits.NAME.\($0)" }
        + event.map { "state.events[].\($0)" } + inference.map { "inference.\($0)" }
        + agreement.map { "inference.agreement.\($0)" } + fill.map { "background.\($0)" }
        + gradient.map { "background.gradient.\($0)" } + layer.map { "layers[].\($0)" }
        + mask.map { "layers[].mask.\($0)" } + metadata.map { "metadata.\($0)" }
        + attribute.map { "metadata.attributes[].\($0)" } + rule.map { "rules[].\($0)" }
        + require.map { "rules[].require.\($0)" }
}
