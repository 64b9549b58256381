// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
public import KilnImage

/// Renders a token's picture from a template, its state and (optionally) the attested inference output.
///
/// Deterministic: the same template files, state and inference bytes give the same pixels, and so — through
/// ``PNGEncoder`` — the same PNG bytes and CID.
public struct Renderer: Sendable {
    public let template: Template
    public var limits: ImageLimits

    public init(template: Template, limits: ImageLimits = .default) {
        self.template = template
        self.limits = limits
    }

    /// The result of a render: the picture, and whether an inference layer had to be a placeholder.
    public struct Output: Sendable {
        public var raster: Raster
        public var usedPlaceholder: Bool
    }

    /// Renders `state` (traits and derived traits) for `token`.
    /// - Parameter inference: the inference output; `nil` draws a marked placeholder where it goes.
    /// - Throws: ``TemplateError`` naming the layer, for a rule the state breaks, an asset that is missing or
    ///   can't be decoded, or an expression failing at run time.
    public func render(state: [String: Value], token: TokenKey, inference: RGBAImage?) throws(TemplateError) -> Output {
        if let rule = template.violations(of: state).first {
            throw TemplateError(rule.location, "token \(token.id) breaks the rule '\(rule)'")
        }
        let env = Environment(tokenId: token.id, contract: token.contract.lowercased, state: state)
        // The background and the leading layers that no state changes are drawn once per loaded template.
        let (count, key) = staticPrefix()
        var usedPlaceholder = false
        var canvas = try template.renderCache.raster(key) { () throws(TemplateError) in
            var canvas: Raster
            do throws(ImageError) {
                if let background = template.background {
                    canvas = try fill(background, width: template.width, height: template.height)
                } else {
                    canvas = try Raster(width: template.width, height: template.height)
                }
            } catch {
                // Template.load checks the size; a template built in code may not have.
                throw TemplateError(
                    SourceLocation(file: template.folder + "/" + Template.fileName, line: 1, column: 1),
                    error.message
                )
            }
            var unused = false
            try draw(template.layers.prefix(count), on: &canvas, env: env, inference: nil, usedPlaceholder: &unused)
            return canvas
        }
        try draw(
            template.layers.dropFirst(count),
            on: &canvas,
            env: env,
            inference: inference,
            usedPlaceholder: &usedPlaceholder
        )
        return Output(raster: canvas, usedPlaceholder: usedPlaceholder)
    }

    /// How many layers at the bottom of the template draw the same pixels for every token (no `when`, an image or
    /// mask path without `{{ }}`, or a fill), and the cache's key for the background with them drawn on it: what
    /// decides those pixels.
    private func staticPrefix() -> (count: Int, key: RenderCache.Key) {
        var layers: [RenderCache.StaticLayer] = []
        for layer in template.layers {
            guard layer.when == nil else { break }
            var drawn = RenderCache.StaticLayer(
                x: layer.x,
                y: layer.y,
                width: layer.width,
                height: layer.height,
                blend: layer.blend,
                opacity: layer.opacity
            )
            switch layer.kind {
            case .image(let path):
                guard let path = path.literal else { break }
                drawn.image = path
            case .fill(let fill): drawn.fill = fill
            case .inference, .text: break
            }
            guard drawn.image != nil || drawn.fill != nil else { break }
            if let (path, channel) = layer.mask {
                guard let path = path.literal else { break }
                drawn.mask = path
                drawn.maskChannel = channel
            }
            layers.append(drawn)
        }
        let key = RenderCache.Key.base(
            folder: template.folder,
            width: template.width,
            height: template.height,
            background: template.background,
            layers: layers,
            limits: limits
        )
        return (layers.count, key)
    }

    /// Draws `layers` in order (those whose `when` is false skipped), each error naming its layer.
    private func draw(
        _ layers: ArraySlice<Template.Layer>,
        on canvas: inout Raster,
        env: Environment,
        inference: RGBAImage?,
        usedPlaceholder: inout Bool
    ) throws(TemplateError) {
        for layer in layers {
            if let when = layer.when, case .bool(false) = try when.evaluate(in: env) { continue }
            do {
                try draw(layer, on: &canvas, env: env, inference: inference, usedPlaceholder: &usedPlaceholder)
            } catch let error as TemplateError {
                throw error
            } catch let error as ImageError {
                throw TemplateError(layer.location, error.message)
            } catch {
                throw TemplateError(layer.location, "\(error)", cause: error)
            }
        }
    }

    private func draw(
        _ layer: Template.Layer,
        on canvas: inout Raster,
        env: Environment,
        inference: RGBAImage?,
        usedPlaceholder: inout Bool
    ) throws {
        var mask: Mask?
        if let (path, channel) = layer.mask {
            mask = Mask(try asset(try path.evaluate(in: env), layer: layer).raster, channel: channel)
        }
        switch layer.kind {
        case .image(let path):
            let image = try asset(try path.evaluate(in: env), layer: layer)
            try canvas.composite(
                image.raster,
                x: layer.x,
                y: layer.y,
                mode: layer.blend,
                opacity: layer.opacity,
                mask: mask,
                drawn: image.drawn
            )
        case .inference:
            let spec = template.inference!
            let w = layer.width ?? spec.width, h = layer.height ?? spec.height
            var image: Raster
            if let inference {
                image = Raster(inference)
            } else {
                usedPlaceholder = true
                image = try Self.placeholder(width: spec.width, height: spec.height)
            }
            if (image.width, image.height) != (w, h) { image = try image.scaled(width: w, height: h) }
            try canvas.composite(image, x: layer.x, y: layer.y, mode: layer.blend, opacity: layer.opacity, mask: mask)
        case .fill(let fill):
            let w = layer.width ?? template.width - layer.x, h = layer.height ?? template.height - layer.y
            guard w > 0, h > 0 else { return }
            let raster = try self.fill(fill, width: w, height: h)
            try canvas.composite(raster, x: layer.x, y: layer.y, mode: layer.blend, opacity: layer.opacity, mask: mask)
        case .text(let text, let color, let scale):
            let string = try text.evaluate(in: env)
            if layer.blend == .normal && layer.opacity == 1 && mask == nil {
                try canvas.draw(text: string, font: .fixed6x13, x: layer.x, y: layer.y, color: color, scale: scale)
            } else {
                let size = BitmapFont.fixed6x13.measure(string, scale: scale)
                guard size.width > 0 else { return }
                var label = try Raster(width: min(Raster.maxSide, size.width), height: size.height)
                try label.draw(text: string, font: .fixed6x13, x: 0, y: 0, color: color, scale: scale)
                try canvas.composite(
                    label,
                    x: layer.x,
                    y: layer.y,
                    mode: layer.blend,
                    opacity: layer.opacity,
                    mask: mask
                )
            }
        }
    }

    /// The asset at `path` (relative to the template), scaled to the layer's size when it gives one: read and
    /// decoded once per loaded template (``RenderCache``), with the part of it that is not fully transparent.
    private func asset(_ path: String, layer: Template.Layer) throws -> RenderCache.Entry {
        let (folder, limits) = (template.folder, self.limits)
        let decoded = try template.renderCache.entry(
            .asset(folder: folder, path: path, width: nil, height: nil, limits: limits)
        ) {
            let full: String
            do {
                full = try AssetPath.resolve(path, in: folder)
            } catch let error as TemplateError {
                throw TemplateError(layer.location, error.diagnostics.first?.message ?? "asset '\(path)'")
            }
            return Raster(try ImageFile.decode(try ImageFile.readBytes(full), source: path, limits: limits))
        }
        guard let w = layer.width, let h = layer.height, (decoded.raster.width, decoded.raster.height) != (w, h) else {
            return decoded
        }
        return try template.renderCache.entry(.asset(folder: folder, path: path, width: w, height: h, limits: limits)) {
            try decoded.raster.scaled(width: w, height: h)
        }
    }

    /// A colour or gradient of `width × height`, drawn once per loaded template (``RenderCache``).
    private func fill(_ fill: Template.Fill, width: Int, height: Int) throws(ImageError) -> Raster {
        try template.renderCache.raster(.fill(fill, width: width, height: height)) { () throws(ImageError) in
            switch fill {
            case .color(let color): try Raster(width: width, height: height, color: color)
            case .gradient(let gradient): try Raster(width: width, height: height, gradient: gradient)
            }
        }
    }

    /// A grey checkerboard labelled "INFERENCE": plainly not art, so a placeholder is never mistaken for output.
    /// - Throws: ``ImageError`` when a side is outside 1…``Raster/maxSide``.
    public static func placeholder(width: Int, height: Int) throws(ImageError) -> Raster {
        var raster = try Raster(width: width, height: height, color: Color(red: 120, green: 120, blue: 120))
        let light = try Raster(width: 16, height: 16, color: Color(red: 170, green: 170, blue: 170))
        for y in stride(from: 0, to: height, by: 16) {
            for x in stride(from: (y / 16) % 2 == 0 ? 0 : 16, to: width, by: 32) {
                try? raster.composite(light, x: x, y: y)
            }
        }
        let scale = max(1, min(4, width / 60))
        let size = BitmapFont.fixed6x13.measure("INFERENCE", scale: scale)
        try? raster.draw(
            text: "INFERENCE",
            font: .fixed6x13,
            x: (width - size.width) / 2,
            y: (height - size.height) / 2,
            color: Color(red: 255, green: 40, blue: 90),
            scale: scale
        )
        return raster
    }
}
