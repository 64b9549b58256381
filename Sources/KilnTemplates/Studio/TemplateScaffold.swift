// Kiln — Apache-2.0. See LICENSE.

internal import KilnCore
internal import Foundation

/// New templates, as text a creator reads and edits: every key commented.
public enum TemplateScaffold {
    /// A starter template: a background, a few shapes whose colour is drawn per token, a level from `LevelUp`
    /// events shown as text, and ERC-721 metadata. No assets; it checks and renders as written.
    public static func starter(name: String, width: Int = 512, height: Int = 512) -> String {
        let unit = min(width, height)
        let scale = max(1, unit / 128)
        return """
            # \(name) — a Kiln template. Every key: docs/reference/template-yml.md
            # Check it:   kiln template check . --stats 1000
            # Preview it: kiln template preview . --count 100
            name: \(quoted(name))
            size: [\(width), \(height)]                 # pixels; layers are placed in this canvas
            background: "#16202e"              # a colour "#rrggbb[aa]" or {gradient: {from, to, stops}}

            state:
              traits:                          # what on-chain events change, with their values before any event
                level: {type: int, default: 1}
              derive:                          # computed from the traits, in order; pick() draws once per token
                palette: "pick('palette', {'ember': 1, 'tide': 3, 'moss': 6})"
                rank: "if(state.level >= 10, 'champion', 'squire')"
              events:                          # the contract's events that change traits
                - signature: "LevelUp(uint256 indexed tokenId, uint256 level)"
                  token: tokenId               # the parameter naming the token
                  set: {level: "event.level"}

            layers:                            # bottom first; each an image, inference, fill or text
              - fill: "#ffffff18"
                at: [\(width / 8), \(height / 8)]
                size: [\(width * 3 / 4), \(height * 3 / 4)]
              - fill: "#e0603a"
                at: [\(width / 4), \(height / 4)]
                size: [\(width / 2), \(height / 2)]
                when: "state.palette == 'ember'"
              - fill: "#3a8fe0"
                at: [\(width / 4), \(height / 4)]
                size: [\(width / 2), \(height / 2)]
                when: "state.palette == 'tide'"
              - fill: "#5fae4a"
                at: [\(width / 4), \(height / 4)]
                size: [\(width / 2), \(height / 2)]
                when: "state.palette == 'moss'"
              - fill: "#ffd24a"                # a crown from level 10
                at: [\(width * 3 / 8), \(height / 6)]
                size: [\(width / 4), \(height / 16)]
                when: "state.rank == 'champion'"
              - text: "LV {{state.level}}"      # the built-in 6×13 bitmap font, scaled
                at: [\(width / 8 + 4 * scale), \(height * 7 / 8 - 16 * scale)]
                scale: \(scale)
                color: "#ffffff"
              # An image layer: {image: "assets/hat_{{state.hat}}.png", at: [x, y], blend: multiply, opacity: 0.8}
              # The operators' generative picture: {inference: main, at: [x, y]} with an `inference:` section.

            # rules:                           # combinations of pick() traits a launch must never have, e.g.
            #   - exclude: {palette: moss, shape: ring}      (kiln template check --stats N counts the tokens)

            metadata:                          # ERC-721 metadata; "image" is added (ipfs://<CID of the PNG>)
              name: "\(jsonEscaped(name)) #{{token.id}}"
              description: "A token at level {{state.level}}."
              attributes:
                - {trait_type: Level, value: "{{state.level}}", display_type: number}
                - {trait_type: Palette, value: "{{state.palette}}"}
                - {trait_type: Rank, value: "{{state.rank}}"}

            """
    }

    /// `text` as a double-quoted YAML scalar: its JSON string (YAML's double-quoted style reads JSON's escapes).
    static func quoted(_ text: String) -> String {
        (try? JSONValue.string(text).canonicalString()) ?? "\"\""
    }

    /// ``quoted(_:)`` without the quotes, for text inside a quoted scalar.
    static func jsonEscaped(_ text: String) -> String { String(quoted(text).dropFirst().dropLast()) }
}

extension HashLipsLayers {
    /// The template these layers make: one `pick()` per trait with the file names' weights, one image layer per
    /// trait in stacking order (left out for `None`), and HashLips' `attributes` (`trait_type` the folder,
    /// `value` the element; none for `None`). With `size`, the canvas has that size and every layer is scaled
    /// to it.
    public func templateYAML(name: String, source: String, size: (width: Int, height: Int)? = nil) -> String {
        let canvas = size ?? (width, height)
        var text = """
            # \(name) — imported by `kiln template import-hashlips` from \(source).
            # Every key: docs/reference/template-yml.md. Check it: kiln template check . --stats 1000
            # The draw is Kiln's (keccak-based, the same for a token on every machine), not HashLips' RNG: the
            # frequencies follow the same weights, the tokens differ.
            name: \(TemplateScaffold.quoted(name))
            size: [\(canvas.width), \(canvas.height)]

            state:
              # To make it dynamic, add traits changed by the contract's events (traits:, events:).
              derive:                          # one draw per trait, weighted as the file names say

            """
        for trait in traits {
            let weights = trait.elements.map { "'\($0.name)': \($0.weight)" }.joined(separator: ", ")
            text += "    \(trait.key): \"pick('\(trait.key)', {\(weights)})\"\n"
        }
        text += "\nlayers:                              # bottom first, in the order of the trait folders\n"
        for trait in traits where trait.elements.contains(where: { !$0.isNone }) {
            text += "  - image: \"assets/\(trait.key)/{{state.\(trait.key)}}.png\"\n"
            if size != nil { text += "    size: [\(canvas.width), \(canvas.height)]\n" }
            if trait.hasNone { text += "    when: \"state.\(trait.key) != 'None'\"\n" }
        }
        text += """

            metadata:                          # HashLips' shape; "image" is added (ipfs://<CID of the PNG>)
              name: "\(TemplateScaffold.jsonEscaped(name)) #{{token.id}}"
              description: "\(TemplateScaffold.jsonEscaped(name)), built with Kiln."
              attributes:

            """
        for trait in traits {
            text += "    - {trait_type: \(TemplateScaffold.quoted(trait.name)), value: \"{{state.\(trait.key)}}\""
            text += trait.hasNone ? ", when: \"state.\(trait.key) != 'None'\"}\n" : "}\n"
        }
        return text
    }

    /// Writes the template into `folder` (created; it must not hold a template.yml): template.yml and every
    /// layer copied to `assets/<trait key>/<name>.png`.
    public func writeTemplate(to folder: String, name: String, source: String, size: (width: Int, height: Int)? = nil)
        throws -> (template: String, assets: Int)
    {
        var assets = 0
        let files = FileManager.default
        for trait in traits {
            try files.createDirectory(atPath: "\(folder)/assets/\(trait.key)", withIntermediateDirectories: true)
            for element in trait.elements {
                // None is copied too: the template's asset check covers every value a pick() can give.
                let bytes = try FileBytes.read(element.file, limit: 64 << 20)
                try AtomicFile.write(bytes, to: "\(folder)/assets/\(trait.key)/\(element.name).png")
                assets += 1
            }
        }
        let path = folder + "/" + Template.fileName
        try AtomicFile.write(Array(templateYAML(name: name, source: source, size: size).utf8), to: path)
        return (path, assets)
    }
}
