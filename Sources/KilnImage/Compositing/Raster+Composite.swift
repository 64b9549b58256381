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
                    if mode == .normal && maskRaster == nil, let canvasBase = canvas.baseAddress,
                        let sourceBase = source.baseAddress
                    {
                        // Source-over without a mask, the common case: four pixels at a time (see `normalRow`).
                        for row in top..<bottom {
                            Self.normalRow(
                                canvasBase + row * canvasStride + left * 4,
                                sourceBase + (row - y) * layerStride + (left - x) * 4,
                                pixels: right - left,
                                coverage: coverage
                            )
                        }
                        return
                    }
                    // Every other case a pixel at a time, in a loop of its own for each mode (the mode's arithmetic
                    // chosen once, not per channel), the mask's coverage read along its row.
                    @inline(__always) func blendRows(_ mode: BlendMode) {
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
                                            : (77 &* UInt32(maskBuffer[o]) &+ 150 &* UInt32(maskBuffer[o + 1])
                                                &+ 29 &* UInt32(maskBuffer[o + 2]) &+ 128) >> 8
                                        m = UInt32(div255(coverage &* value))
                                    }
                                }
                                Self.blendPixel(canvas, d, source, s, m, mode)
                                d += 4
                                s += 4
                            }
                        }
                    }
                    switch mode {
                    case .normal: blendRows(.normal)
                    case .multiply: blendRows(.multiply)
                    case .screen: blendRows(.screen)
                    case .overlay: blendRows(.overlay)
                    case .add: blendRows(.add)
                    }
                }
            }
        }
    }

    /// Source-over of one row of `pixels` source pixels (scaled by coverage `m`, 1…255) onto the canvas, four
    /// pixels (16 bytes) per step, giving exactly `blendPixel`'s bytes.
    ///
    /// `blendPixel` computes a colour as `min(div255(cs·(255 − αb) + cb·(255 − αs) + cs·αb), αo)`, which is
    /// `min(div255(255·cs + cb·(255 − αs)), αo)`; since `div255` rounds exactly, that is
    /// `min(cs + div255(cb·(255 − αs)), αo)` for premultiplied pixels (`c ≤ α`, which every raster keeps), and the
    /// alpha `αo = αs + div255(αb·(255 − αs))` has the same form. So every channel computes
    /// `s + div255(b·(255 − αs))` and colours are clamped to the pixel's new alpha, as `blendPixel` does.
    ///
    /// The 16 bytes are read as eight 16-bit lanes and split into the even channels (r, b of each pixel) and the
    /// odd ones (g, α), each in a 16-bit lane of its own — every product stays within 255·255 — and merged back
    /// the same way, so no lane widening or narrowing is needed (SSE2/NEON-sized vectors, no conversions).
    /// `CompositeTests` checks the equality against `blendPixel` for every pair of alphas.
    @inline(__always)
    static func normalRow(
        _ canvas: UnsafeMutablePointer<UInt8>,
        _ source: UnsafePointer<UInt8>,
        pixels: Int,
        coverage m: UInt32
    ) {
        typealias Lanes = SIMD8<UInt16>
        let coverage = Lanes(repeating: UInt16(m))
        @inline(__always) func div255(_ x: Lanes) -> Lanes {
            let t = x &+ 128
            return (t &+ (t &>> 8)) &>> 8
        }
        // From the odd channels (g, α per pixel): each pixel's alpha in both of its lanes.
        @inline(__always) func alphas(_ odd: Lanes) -> Lanes {
            let a = unsafeBitCast(odd, to: SIMD4<UInt32>.self) &>> 16
            return unsafeBitCast(a | (a &<< 16), to: Lanes.self)
        }
        var index = 0
        while index + 4 <= pixels {
            let offset = index * 4
            let packed = UnsafeRawPointer(source + offset).loadUnaligned(as: Lanes.self)
            // Four fully transparent source pixels leave the canvas as it is (no load or store of it).
            if unsafeBitCast(packed, to: SIMD2<UInt64>.self) & 0xFF00_0000_FF00_0000 != .zero {
                let target = UnsafeMutableRawPointer(canvas + offset)
                let backdrop = target.loadUnaligned(as: Lanes.self)
                var (evenS, oddS) = (packed & 0xFF, packed &>> 8)
                if m != 255 {
                    evenS = div255(evenS &* coverage)
                    oddS = div255(oddS &* coverage)
                }
                let inverse = 255 &- alphas(oddS)
                let odd = oddS &+ div255((backdrop &>> 8) &* inverse)
                let alpha = alphas(odd)
                let even = pointwiseMin(evenS &+ div255((backdrop & 0xFF) &* inverse), alpha)
                target.storeBytes(of: even | (pointwiseMin(odd, alpha) &<< 8), as: Lanes.self)
            }
            index += 4
        }
        if index < pixels {
            let target = UnsafeMutableBufferPointer(start: canvas + index * 4, count: (pixels - index) * 4)
            let from = UnsafeBufferPointer(start: source + index * 4, count: (pixels - index) * 4)
            for offset in Swift.stride(from: 0, to: target.count, by: 4) {
                blendPixel(target, offset, from, offset, m, .normal)
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
        // Wrapping arithmetic: every value below is within 0…255·255·3 for premultiplied pixels (c ≤ α, which
        // every raster keeps), and the overflow checks were most of the instructions of a masked layer.
        var sa = UInt32(source[s + 3])
        if m != 255 { sa = UInt32(div255(sa &* m)) }
        if sa == 0 { return }  // nothing to draw in any mode
        var sr = UInt32(source[s])
        var sg = UInt32(source[s + 1])
        var sb = UInt32(source[s + 2])
        if m != 255 {
            sr = UInt32(div255(sr &* m))
            sg = UInt32(div255(sg &* m))
            sb = UInt32(div255(sb &* m))
        }
        if mode == .normal && sa == 255 {
            canvas[d] = UInt8(truncatingIfNeeded: sr)
            canvas[d + 1] = UInt8(truncatingIfNeeded: sg)
            canvas[d + 2] = UInt8(truncatingIfNeeded: sb)
            canvas[d + 3] = 255
            return
        }
        let ba = UInt32(canvas[d + 3])
        let inverseSource = 255 &- sa
        let inverseBackdrop = 255 &- ba
        let outAlpha = sa &+ UInt32(div255(ba &* inverseSource))
        @inline(__always)
        func channel(_ cs: UInt32, _ cb: UInt32) -> UInt8 {
            // 255 · αs·αb·B(Cb, Cs) in premultiplied terms.
            let blended: UInt32
            switch mode {
            case .normal: blended = cs &* ba
            case .multiply: blended = cs &* cb
            case .screen: blended = cs &* ba &+ cb &* sa &- cs &* cb
            case .overlay:
                blended = 2 &* cb <= ba ? 2 &* cs &* cb : sa &* ba &- 2 &* (ba &- cb) &* (sa &- cs)
            case .add: blended = min(sa &* ba, cs &* ba &+ cb &* sa)
            }
            let value = div255(cs &* inverseBackdrop &+ cb &* inverseSource &+ blended)
            return min(value, UInt8(truncatingIfNeeded: outAlpha))
        }
        canvas[d] = channel(sr, UInt32(canvas[d]))
        canvas[d + 1] = channel(sg, UInt32(canvas[d + 1]))
        canvas[d + 2] = channel(sb, UInt32(canvas[d + 2]))
        canvas[d + 3] = UInt8(outAlpha)
    }
}
