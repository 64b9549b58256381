// Kiln — Apache-2.0. See LICENSE.

/// How a layer's colour combines with the canvas under it.
///
/// All modes use the W3C Compositing and Blending separable formula in premultiplied form,
/// `co = cs·(1 − αb) + cb·(1 − αs) + αs·αb·B(Cb, Cs)`, `αo = αs + αb·(1 − αs)`, evaluated in integers scaled by 255
/// and rounded once, so that every CPU gives the same bytes.
public enum BlendMode: String, CaseIterable, Hashable, Sendable {
    /// Porter–Duff source-over: `B = Cs`.
    case normal
    /// `B = Cs · Cb`: darkens.
    case multiply
    /// `B = Cs + Cb − Cs · Cb`: lightens.
    case screen
    /// Multiply where the canvas is dark, screen where it is light (`B = HardLight(Cb, Cs)`).
    case overlay
    /// Linear dodge: `B = min(1, Cs + Cb)`.
    case add
}

/// What part of a mask raster hides the layer.
public enum MaskChannel: String, Hashable, Sendable {
    /// The mask's luminance over black, `(77·r + 150·g + 29·b + 128) >> 8` of its premultiplied colour.
    case luminance
    /// The mask's alpha.
    case alpha
}

/// A mask for a layer: its top-left corner sits on the layer's; outside the mask the layer is hidden.
public struct Mask: Hashable, Sendable {
    public var raster: Raster
    public var channel: MaskChannel
    public init(_ raster: Raster, channel: MaskChannel) {
        self.raster = raster
        self.channel = channel
    }
}
