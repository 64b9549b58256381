// Kiln — Apache-2.0. See LICENSE.

extension Raster {
    /// Composites `layer` onto this raster with its top-left corner at `(x, y)` (may be negative or past the
    /// edges: the layer is clipped), scaled by `opacity` and an optional `mask`.
    ///
    /// - Parameters:
    ///   - opacity: 0…1; it becomes the integer `round(opacity · 255)` before any pixel is touched.
    /// - Throws: ``ImageError/Code/invalidArgument`` for an opacity outside 0…1 (or not a number).
    public mutating func composite(
        _ layer: Raster,
        x: Int,
        y: Int,
        mode: BlendMode = .normal,
        opacity: Double = 1,
        mask: Mask? = nil
    ) throws(ImageError) {
        guard opacity >= 0, opacity <= 1 else {
            throw ImageError(.invalidArgument, "Unable to composite: opacity \(opacity) is outside 0…1")
        }
        let coverage = UInt32((opacity * 255).rounded())
        // The part of the layer that lands on the canvas.
        let left = max(0, x)
        let top = max(0, y)
        let right = min(width, x + layer.width)
        let bottom = min(height, y + layer.height)
        guard left < right, top < bottom, coverage > 0 else { return }

        let canvasStride = stride
        let layerStride = layer.stride
        let maskRaster = mask?.raster
        let maskChannel = mask?.channel ?? .alpha
        pixels.withUnsafeMutableBufferPointer { canvas in
            layer.pixels.withUnsafeBufferPointer { source in
                let maskPixels = maskRaster?.pixels ?? []
                maskPixels.withUnsafeBufferPointer { maskBuffer in
                    for row in top..<bottom {
                        let layerRow = row - y
                        var d = row * canvasStride + left * 4
                        var s = layerRow * layerStride + (left - x) * 4
                        for column in left..<right {
                            var m = coverage
                            if let maskRaster {
                                let mx = column - x
                                if mx >= maskRaster.width || layerRow >= maskRaster.height {
                                    m = 0
                                } else {
                                    let o = layerRow * maskRaster.stride + mx * 4
                                    let value: UInt32 =
                                        maskChannel == .alpha
                                        ? UInt32(maskBuffer[o + 3])
                                        : (77 * UInt32(maskBuffer[o]) + 150 * UInt32(maskBuffer[o + 1])
                                            + 29 * UInt32(maskBuffer[o + 2]) + 128) >> 8
                                    m = UInt32(div255(coverage * value))
                                }
                            }
                            Self.blendPixel(canvas, d, source, s, m, mode)
                            d += 4
                            s += 4
                        }
                    }
                }
            }
        }
    }

    /// Blends one source pixel (scaled by coverage `m`, 0…255) into one canvas pixel.
    @inline(__always)
    static func blendPixel(
        _ canvas: UnsafeMutableBufferPointer<UInt8>,
        _ d: Int,
        _ source: UnsafeBufferPointer<UInt8>,
        _ s: Int,
        _ m: UInt32,
        _ mode: BlendMode
    ) {
        var sa = UInt32(source[s + 3])
        if m != 255 { sa = UInt32(div255(sa * m)) }
        if sa == 0 { return }  // nothing to draw in any mode
        var sr = UInt32(source[s])
        var sg = UInt32(source[s + 1])
        var sb = UInt32(source[s + 2])
        if m != 255 {
            sr = UInt32(div255(sr * m))
            sg = UInt32(div255(sg * m))
            sb = UInt32(div255(sb * m))
        }
        if mode == .normal && sa == 255 {
            canvas[d] = UInt8(sr)
            canvas[d + 1] = UInt8(sg)
            canvas[d + 2] = UInt8(sb)
            canvas[d + 3] = 255
            return
        }
        let ba = UInt32(canvas[d + 3])
        let inverseSource = 255 - sa
        let inverseBackdrop = 255 - ba
        let outAlpha = sa + UInt32(div255(ba * inverseSource))
        @inline(__always)
        func channel(_ cs: UInt32, _ cb: UInt32) -> UInt8 {
            // 255 · αs·αb·B(Cb, Cs) in premultiplied terms.
            let blended: UInt32
            switch mode {
            case .normal: blended = cs * ba
            case .multiply: blended = cs * cb
            case .screen: blended = cs * ba + cb * sa - cs * cb
            case .overlay:
                blended = 2 * cb <= ba ? 2 * cs * cb : sa * ba - 2 * (ba - cb) * (sa - cs)
            case .add: blended = min(sa * ba, cs * ba + cb * sa)
            }
            let value = div255(cs * inverseBackdrop + cb * inverseSource + blended)
            return min(value, UInt8(outAlpha))
        }
        canvas[d] = channel(sr, UInt32(canvas[d]))
        canvas[d + 1] = channel(sg, UInt32(canvas[d + 1]))
        canvas[d + 2] = channel(sb, UInt32(canvas[d + 2]))
        canvas[d + 3] = UInt8(outAlpha)
    }
}
