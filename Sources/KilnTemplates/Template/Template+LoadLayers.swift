// Kiln — Apache-2.0. See LICENSE.

internal import KilnCore
internal import KilnYAML
internal import KilnImage
internal import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension TemplateLoader {
    static let layerKeys = TemplateKeys.layer

    mutating func readLayer(
        _ node: YAMLNode,
        scope: TypeScope,
        derived: [Template.Derived],
        inference: Template.Inference?,
        width: Int,
        height: Int
    ) -> Template.Layer? {
        guard let spec = mapping(node, "a layer", allowed: Self.layerKeys) else { return nil }
        let kinds = ["image", "inference", "fill", "text"].filter { spec[$0] != nil }
        guard kinds.count == 1 else {
            report(
                node.location,
                kinds.isEmpty
                    ? "a layer needs one of image, inference, fill or text"
                    : "a layer has exactly one of image, inference, fill or text, found \(kinds.joined(separator: " and "))"
            )
            return nil
        }
        var x = 0, y = 0
        var w: Int?, h: Int?
        if let atNode = spec["at"], let at = pair(atNode, "at", range: -Raster.maxSide...Raster.maxSide) { (x, y) = at }
        if let sizeNode = spec["size"], let size = pair(sizeNode, "size", range: 1...Raster.maxSide) { (w, h) = size }
        let when = spec["when"].flatMap { expression($0, "when", scope: scope, expect: .bool)?.0 }
        var blend = BlendMode.normal
        if let blendNode = spec["blend"], let name = string(blendNode, "blend") {
            if let mode = BlendMode(rawValue: name) {
                blend = mode
            } else {
                report(
                    blendNode.textLocation,
                    "unknown blend '\(name)' (\(BlendMode.allCases.map(\.rawValue).joined(separator: ", ")))"
                        + didYouMean(name, BlendMode.allCases.map(\.rawValue))
                )
            }
        }
        let opacity = spec["opacity"].flatMap { number($0, "opacity", range: 0...1) } ?? 1
        var mask: (Interpolation, MaskChannel)?
        if let maskNode = spec["mask"],
            let m = mapping(maskNode, "mask", allowed: TemplateKeys.mask, required: ["image"])
        {
            var channel = MaskChannel.luminance
            if let channelNode = m["channel"], let name = string(channelNode, "mask.channel") {
                if let value = MaskChannel(rawValue: name) {
                    channel = value
                } else {
                    report(channelNode.textLocation, "mask.channel must be luminance or alpha")
                }
            }
            if let imageNode = m["image"], let path = interpolation(imageNode, "mask.image", scope: scope) {
                checkAssets(path, at: imageNode.textLocation, derived: derived)
                mask = (path, channel)
            }
        }
        let kind: Template.Layer.Kind
        switch kinds[0] {
        case "image":
            guard let pathNode = spec["image"], let path = interpolation(pathNode, "image", scope: scope) else {
                return nil
            }
            let sizes = checkAssets(path, at: pathNode.textLocation, derived: derived)
            if w == nil, let first = sizes.first { (w, h) = (first.0, first.1) }
            kind = .image(path)
        case "inference":
            guard let inference else {
                report(spec["inference"]!.location, "an inference layer needs an 'inference:' section in the template")
                return nil
            }
            if w == nil { (w, h) = (inference.width, inference.height) }
            kind = .inference
        case "fill":
            guard let fill = fill(spec["fill"]!, "fill", width: width, height: height) else { return nil }
            if w == nil { (w, h) = (width - x, height - y) }
            kind = .fill(fill)
        default:
            guard let textNode = spec["text"], let text = interpolation(textNode, "text", scope: scope) else {
                return nil
            }
            let color = spec["color"].flatMap { self.color($0, "color") } ?? .white
            let scale = spec["scale"].flatMap { integer($0, "scale", range: 1...64) } ?? 1
            kind = .text(text, color: color, scale: scale)
        }
        if case .text = kind {
        } else {
            for key in ["color", "scale"] where spec[key] != nil {
                report(spec[key]!.location, "'\(key)' applies to text layers only")
            }
        }
        if let w, let h, width > 0, height > 0, x >= width || y >= height || x + w <= 0 || y + h <= 0 {
            report(
                node.location,
                "the layer (\(w)×\(h) at [\(x), \(y)]) lies entirely outside the \(width)×\(height) canvas"
            )
        }
        return Template.Layer(
            kind: kind,
            x: x,
            y: y,
            width: spec["size"] == nil ? nil : w,
            height: spec["size"] == nil ? nil : h,
            when: when,
            blend: blend,
            opacity: opacity,
            mask: mask,
            location: node.location
        )
    }

    /// Checks every asset an image path can name: for a fixed path, that one; for `{{state.X}}` holes over
    /// derived `pick()` traits, every combination. Returns the sizes of the images checked.
    @discardableResult
    mutating func checkAssets(_ path: Interpolation, at location: SourceLocation, derived: [Template.Derived]) -> [(
        Int, Int
    )] {
        var candidates: [String] = [""]
        for part in path.parts {
            switch part {
            case .text(let text):
                candidates = candidates.map { $0 + text }
            case .expression(let e):
                guard case .path("state", let name, _) = e,
                    let choices = derived.first(where: { $0.name == name })?.choices
                else {
                    return []  // depends on a value known only at render time: checked then
                }
                candidates = candidates.flatMap { prefix in choices.map { prefix + $0 } }
                if candidates.count > 256 { return [] }
            }
        }
        var sizes: [(Int, Int)] = []
        for candidate in candidates {
            do {
                let full = try AssetPath.resolve(candidate, in: folder)
                sizes.append(try AssetCache.shared.size(of: full, name: candidate))
            } catch let error as TemplateError {
                report(location, error.diagnostics.first?.message ?? "\(error)")
            } catch let error as ImageError {
                report(location, error.message)
            } catch {
                report(location, "asset '\(candidate)': \(error)")
            }
        }
        return sizes
    }

    // MARK: - Metadata

    static let metadataKeys = TemplateKeys.metadata
    static let displayTypes = ["number", "boost_number", "boost_percentage", "date"]

    mutating func readMetadata(_ node: YAMLNode, scope: TypeScope) -> Template.Metadata? {
        guard let spec = mapping(node, "metadata", allowed: Self.metadataKeys) else { return nil }
        var fields: [(String, Interpolation)] = []
        for key in Self.metadataKeys.dropLast() {
            guard let valueNode = spec[key], let value = interpolation(valueNode, "metadata.\(key)", scope: scope)
            else { continue }
            if key == "background_color", let text = value.literal,
                !(text.count == 6 && text.allSatisfy(\.isHexDigit))
            {
                report(
                    valueNode.textLocation,
                    "background_color must be six hex digits without '#' (OpenSea), found '\(text)'"
                )
            }
            fields.append((key, value))
        }
        var attributes: [Template.Attribute] = []
        if let list = spec["attributes"] {
            guard case .sequence(let items) = list.kind else {
                report(list.location, "metadata.attributes must be a list")
                return Template.Metadata(fields: fields, attributes: [])
            }
            for item in items {
                guard
                    let a = mapping(
                        item,
                        "an attribute",
                        allowed: TemplateKeys.attribute,
                        required: ["value"]
                    ),
                    let valueNode = a["value"], let value = interpolation(valueNode, "value", scope: scope)
                else { continue }
                let traitType =
                    a["trait_type"].flatMap { interpolation($0, "trait_type", scope: scope) }
                    ?? (try! Interpolation("", at: item.location))
                var displayType: String?
                if let displayNode = a["display_type"], let name = string(displayNode, "display_type") {
                    if Self.displayTypes.contains(name) {
                        displayType = name
                        let type = try? value.soleExpression?.type(in: scope)
                        if type != .int && type != .decimal {
                            report(
                                valueNode.textLocation,
                                "display_type '\(name)' needs a numeric value like \"{{state.level}}\""
                            )
                        }
                    } else {
                        report(
                            displayNode.textLocation,
                            "unknown display_type '\(name)' (\(Self.displayTypes.joined(separator: ", ")))"
                                + didYouMean(name, Self.displayTypes)
                        )
                    }
                }
                let maxValue = a["max_value"].flatMap { number($0, "max_value", range: -1e15...1e15) }
                let when = a["when"].flatMap { expression($0, "when", scope: scope, expect: .bool)?.0 }
                attributes.append(
                    Template.Attribute(
                        traitType: traitType,
                        value: value,
                        displayType: displayType,
                        maxValue: maxValue,
                        when: when
                    )
                )
            }
        }
        return Template.Metadata(fields: fields, attributes: attributes)
    }

    // MARK: - Rules

    mutating func readRules(_ node: YAMLNode, traits: [Template.Trait], derived: [Template.Derived]) -> [Template.Rule]
    {
        guard case .sequence(let items) = node.kind else {
            report(node.location, "rules must be a list")
            return []
        }
        var rules: [Template.Rule] = []
        func values(_ node: YAMLNode, _ context: String) -> [(String, String)]? {
            guard case .mapping(let pairs) = node.kind, !pairs.isEmpty else {
                report(node.location, "\(context) must be a mapping of trait: value")
                return nil
            }
            var out: [(String, String)] = []
            for (key, value) in pairs {
                guard let name = key.scalar, let text = value.scalar else { continue }
                let isTrait = traits.contains { $0.name == name }
                let item = derived.first { $0.name == name }
                if !isTrait && item == nil {
                    report(
                        key.location,
                        "unknown trait '\(name)' in a rule" + didYouMean(name, traits.map(\.name) + derived.map(\.name))
                    )
                    continue
                }
                if let choices = item?.choices, !choices.contains(text) {
                    report(
                        value.textLocation,
                        "'\(name)' can never be '\(text)' (pick() gives \(choices.sorted().joined(separator: ", ")))"
                            + didYouMean(text, choices)
                    )
                }
                out.append((name, text))
            }
            return out
        }
        for item in items {
            guard let spec = mapping(item, "a rule", allowed: TemplateKeys.rule) else { continue }
            if let excludeNode = spec["exclude"] {
                if let pairs = values(excludeNode, "exclude") {
                    if pairs.count < 2 {
                        report(
                            excludeNode.location,
                            "exclude needs at least two trait values that must not occur together"
                        )
                    }
                    rules.append(Template.Rule(kind: .exclude(pairs), location: item.location))
                }
            } else if let requireNode = spec["require"] {
                guard let r = mapping(requireNode, "require", allowed: TemplateKeys.require, required: ["if", "then"]),
                    let ifNode = r["if"], let thenNode = r["then"], let when = values(ifNode, "require.if"),
                    let then = values(thenNode, "require.then")
                else { continue }
                rules.append(Template.Rule(kind: .require(when: when, then: then), location: item.location))
            } else {
                report(item.location, "a rule needs 'exclude' or 'require'")
            }
        }
        return rules
    }

    // MARK: - Content hash

    /// Keccak-256 over `path ‖ 0 ‖ length ‖ bytes` of every regular file under `folder`, sorted by path.
    static func contentHash(folder: String) -> Bytes32 {
        var files: [String] = []
        func walk(_ relative: String) {
            guard let handle = opendir(folder + (relative.isEmpty ? "" : "/" + relative)) else { return }
            defer { closedir(handle) }
            while let entry = readdir(handle) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) {
                    String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
                }
                if name == "." || name == ".." || name.hasPrefix(".") { continue }
                let path = relative.isEmpty ? name : relative + "/" + name
                var info = stat()
                guard lstat(folder + "/" + path, &info) == 0 else { continue }
                if info.st_mode & S_IFMT == S_IFDIR {
                    walk(path)
                } else if info.st_mode & S_IFMT == S_IFREG {
                    files.append(path)
                }
            }
        }
        walk("")
        var hasher = Keccak256()
        for path in files.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            let bytes = (try? FileBytes.read(folder + "/" + path)) ?? []
            hasher.update(Array(path.utf8) + [0] + Array(String(bytes.count).utf8) + [0])
            hasher.update(bytes)
        }
        return hasher.finalize()
    }
}

/// Sizes of assets already decoded by this process, keyed by path, size and modification time, so that
/// checking a template again (an editor loop, the fuzz test) does not decode every image again.
final class AssetCache: Sendable {
    static let shared = AssetCache()
    private let sizes = Mutex<[String: (Int, Int)]>([:])

    func size(of path: String, name: String) throws -> (Int, Int) {
        var info = stat()
        let key =
            stat(path, &info) == 0
            ? "\(path)\u{0}\(info.st_size)\u{0}\(info.st_mtim.tv_sec).\(info.st_mtim.tv_nsec)" : path
        if let known = sizes.withLock({ $0[key] }) { return known }
        let image = try ImageFile.decode(try ImageFile.readBytes(path), source: name)
        sizes.withLock { $0[key] = (image.width, image.height) }
        return (image.width, image.height)
    }
}

/// Asset paths: relative, inside the template folder, no `..`, no symbolic link leading out.
enum AssetPath {
    static func resolve(_ path: String, in folder: String) throws(TemplateError) -> String {
        let here = SourceLocation(file: folder + "/" + Template.fileName, line: 1, column: 1)
        guard !path.isEmpty, !path.hasPrefix("/") else {
            throw TemplateError(here, "asset '\(path)' must be a relative path inside the template folder")
        }
        guard !path.split(separator: "/").contains("..") else {
            throw TemplateError(here, "asset '\(path)' leaves the template folder ('..')")
        }
        let full = folder + "/" + path
        guard let real = realpath(full, nil) else { throw TemplateError(here, "asset '\(path)' is missing") }
        defer { free(real) }
        guard let base = realpath(folder, nil) else {
            throw TemplateError(here, "the template folder can't be resolved")
        }
        defer { free(base) }
        let resolved = String(cString: real), root = String(cString: base)
        guard resolved.hasPrefix(root + "/") else {
            throw TemplateError(here, "asset '\(path)' is a link leading out of the template folder")
        }
        return resolved
    }
}
