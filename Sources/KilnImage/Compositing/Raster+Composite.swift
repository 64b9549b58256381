// Kiln — Apache-2.0. See LICENSE.

extension Raster {
    /// Composites `layer` onto this raster with its top-left corner at `(x, y)` (may be negative or past the
    /// edges: the layer is clipped), scaled by `opacity` and an optional `mask`.
    ///
    /// - Parameters:
    ///   - opacity: 0…1; it becomes the integer `round(opacity · 255)` before any pixel is touched.
    ///   - drawn: the part of `layer` outside which every pixel is fully transparent (``drawnBounds()``, which a
    ///     caller drawing the same layer many times keeps): only that part is read. The bytes are the same either
    ///     way, since a transparent source pixel leaves the canvas as it is in every mode.
    /// - Throws: ``ImageError/Code/invalidArgument`` for an opacity outside 0…1 (or not a number).
    public mutating func composite(
        _ layer: Raster,
        x: Int,
        y: Int,
        mode: BlendMode = .normal,
        opacity: Double = 1,
        mask: Mask? = nil,
        drawn: PixelRect? = nil
    ) throws(ImageError) {
        guard opacity >= 0, opacity <= 1 else {
            throw ImageError(.invalidArgument, "Unable to composite: opacity \(opacity) is outside 0…1")
        }
        let coverage = UInt32((opacity * 255).rounded())
        // The part of the layer that lands on the canvas (of its drawn part, when given).
        let part = drawn ?? PixelRect(x: 0, y: 0, width: layer.width, height: layer.height)
        let left = max(0, x + max(0, part.x))
        let top = max(0, y + max(0, part.y))
        let right = min(width, x + min(layer.width, part.x + part.width))
        let bottom = min(height, y + min(layer.height, part.y + part.height))
        guard left < right, top < bottom, coverage > 0 else { return }

        let canvasStride = stride
        let layerStride = layer.stride
        let maskRaster = mask?.raster
        let maskChannel = mask?.channel ?? .alpha
        pixels.withUnsafeMutableBufferPointer { canvas in
            layer.pixels.withUnsafeBufferPointer { source in
                let maskPixels = maskRaster?.pixels ?? []
                maskPixels.withUnsafeBufferPointer { maskBuffer in
                    // The layer's coverage at a pixel of the mask (0 outside it): `coverage` scaled by the mask's
                    // alpha or luminance there.
                    @inline(__always) func masked(_ mask: Raster, _ mx: Int, _ my: Int) -> UInt32 {
                        guard mx < mask.width && my < mask.height else { return 0 }
                        let o = my * mask.stride + mx * 4
                        let value: UInt32 =
                            maskChannel == .alpha
                            ? UInt32(maskBuffer[o + 3])
                            : (77 &* UInt32(maskBuffer[o]) &+ 150 &* UInt32(maskBuffer[o + 1])
                                &+ 29 &* UInt32(maskBuffer[o + 2]) &+ 128) >> 8
                        return UInt32(div255(coverage &* value))
                    }
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
                    if mode == .screen, let canvasBase = canvas.baseAddress, let sourceBase = source.baseAddress {
                        // Screen (the usual glow over art), masked or not: four pixels at a time (see `screenRow`),
                        // each pixel's coverage worked out along the row first.
                        var coverages = [UInt16](repeating: UInt16(coverage), count: right - left)
                        coverages.withUnsafeMutableBufferPointer { coverages in
                            for row in top..<bottom {
                                let layerRow = row - y
                                if let maskRaster {
                                    for column in left..<right {
                                        coverages[column - left] = UInt16(masked(maskRaster, column - x, layerRow))
                                    }
                                }
                                Self.screenRow(
                                    canvasBase + row * canvasStride + left * 4,
                                    sourceBase + layerRow * layerStride + (left - x) * 4,
                                    coverages: UnsafePointer(coverages.baseAddress!),
                                    pixels: right - left
                                )
                            }
                        }
                        return
                    }
                    // Every other case a pixel at a time, in a loop of its own for each mode (the mode's arithmetic
                    // chosen once, not per channel), the mask's coverage read along its row.
                    //
                    // Without a mask, a pixel that repeats the layer's first one (all of a colour fill) over an
                    // opaque canvas pixel gives each channel a value that depends only on the canvas's value in
                    // that channel: `blendPixel`'s own results for the 256 of them, worked out once here, are looked
                    // up (the same bytes by construction).
                    let first = (top - y) * layerStride + (left - x) * 4
                    let repeated: UInt32? =
                        maskRaster == nil && (right - left) * (bottom - top) >= 4096
                        ? UnsafeRawPointer(source.baseAddress! + first).loadUnaligned(as: UInt32.self) : nil
                    var table = [UInt8](repeating: 0, count: repeated == nil ? 0 : 1024)
                    if repeated != nil {
                        table.withUnsafeMutableBufferPointer { table in
                            for value in 0..<256 {
                                let o = value * 4
                                (table[o], table[o + 1], table[o + 2], table[o + 3]) = (
                                    UInt8(value), UInt8(value), UInt8(value), 255
                                )
                                Self.blendPixel(table, o, source, first, coverage, mode)
                            }
                        }
                    }
                    @inline(__always) func blendRows(_ mode: BlendMode) {
                        if let repeated {
                            table.withUnsafeBufferPointer { table in
                                let base = UnsafeRawPointer(source.baseAddress!)
                                for row in top..<bottom {
                                    var d = row * canvasStride + left * 4
                                    var s = (row - y) * layerStride + (left - x) * 4
                                    for _ in left..<right {
                                        if canvas[d + 3] == 255
                                            && base.loadUnaligned(fromByteOffset: s, as: UInt32.self) == repeated
                                        {
                                            canvas[d] = table[Int(canvas[d]) &* 4]
                                            canvas[d + 1] = table[Int(canvas[d + 1]) &* 4 &+ 1]
                                            canvas[d + 2] = table[Int(canvas[d + 2]) &* 4 &+ 2]
                                            canvas[d + 3] = table[3]
                                        } else {
                                            Self.blendPixel(canvas, d, source, s, coverage, mode)
                                        }
                                        d += 4
                                        s += 4
                                    }
                                }
                            }
                            return
                        }
                        for row in top..<bottom {
                            let layerRow = row - y
                            var d = row * canvasStride + left * 4
                            var s = layerRow * layerStride + (left - x) * 4
                            for column in left..<right {
                                let m = maskRaster.map { masked($0, column - x, layerRow) } ?? coverage
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
        var index = 0
        while index + 4 <= pixels {
            let offset = index * 4
            let packed = UnsafeRawPointer(source + offset).loadUnaligned(as: Lanes.self)
            let alphaBits = unsafeBitCast(packed, to: SIMD2<UInt64>.self) & 0xFF00_0000_FF00_0000
            if m == 255 && alphaBits == SIMD2(repeating: 0xFF00_0000_FF00_0000) {
                // Four opaque source pixels at full coverage replace the canvas's (blendPixel's first exit).
                UnsafeMutableRawPointer(canvas + offset).storeBytes(of: packed, as: Lanes.self)
            } else if alphaBits != .zero {
                // (Four fully transparent source pixels leave the canvas as it is: no load or store of it.)
                let target = UnsafeMutableRawPointer(canvas + offset)
                let backdrop = target.loadUnaligned(as: Lanes.self)
                var (evenS, oddS) = (packed & 0xFF, packed &>> 8)
                if m != 255 {
                    evenS = Lanes.div255(evenS &* coverage)
                    oddS = Lanes.div255(oddS &* coverage)
                }
                let inverse = 255 &- Lanes.alphas(oddS)
                let odd = oddS &+ Lanes.div255((backdrop &>> 8) &* inverse)
                let alpha = Lanes.alphas(odd)
                let even = pointwiseMin(evenS &+ Lanes.div255((backdrop & 0xFF) &* inverse), alpha)
                target.storeBytes(of: even | (pointwiseMin(odd, alpha) &<< 8), as: Lanes.self)
            }
            index += 4
        }
        blendTail(canvas, source, from: index, to: pixels, .normal) { _ in m }
    }

    /// Screen of one row of `pixels` source pixels, each scaled by its own coverage (0…255), onto the canvas, four
    /// pixels per step, giving exactly `blendPixel`'s bytes.
    ///
    /// `blendPixel` computes a screened colour as `min(div255(cs·(255 − αb) + cb·(255 − αs) + cs·αb + cb·αs −
    /// cs·cb), αo)` = `min(div255(255·(cs + cb) − cs·cb), αo)`, and since 255 is odd no quotient is ever a half, so
    /// `div255(255·k − p)` is `k − div255(p)`: the colour is `cs + cb − div255(cs·cb)`; the alpha
    /// `αs + div255(αb·(255 − αs))` is `αs + αb − div255(αs·αb)`, the same form. Every product is of two bytes, so
    /// 16-bit lanes hold it, split even (r, b) and odd (g, α) as in `normalRow`. A source pixel that the coverage
    /// leaves transparent changes nothing either way (`cs = αs = 0`: the backdrop's own bytes, `cb ≤ αb`).
    /// `CompositeTests` checks the equality against `blendPixel` for every pair of alphas.
    @inline(__always)
    static func screenRow(
        _ canvas: UnsafeMutablePointer<UInt8>,
        _ source: UnsafePointer<UInt8>,
        coverages: UnsafePointer<UInt16>,
        pixels: Int
    ) {
        typealias Lanes = SIMD8<UInt16>
        var index = 0
        while index + 4 <= pixels {
            let offset = index * 4
            let four = UnsafeRawPointer(coverages + index).loadUnaligned(as: SIMD4<UInt16>.self)
            let m = Lanes(four[0], four[0], four[1], four[1], four[2], four[2], four[3], four[3])
            let packed = UnsafeRawPointer(source + offset).loadUnaligned(as: Lanes.self)
            let evenS = Lanes.div255((packed & 0xFF) &* m), oddS = Lanes.div255((packed &>> 8) &* m)
            let target = UnsafeMutableRawPointer(canvas + offset)
            let backdrop = target.loadUnaligned(as: Lanes.self)
            let evenB = backdrop & 0xFF, oddB = backdrop &>> 8
            let odd = oddS &+ oddB &- Lanes.div255(oddS &* oddB)
            let alpha = Lanes.alphas(odd)
            let even = pointwiseMin(evenS &+ evenB &- Lanes.div255(evenS &* evenB), alpha)
            target.storeBytes(of: even | (pointwiseMin(odd, alpha) &<< 8), as: Lanes.self)
            index += 4
        }
        blendTail(canvas, source, from: index, to: pixels, .screen) { UInt32(coverages[$0]) }
    }

    /// The pixels of a row after its 4-pixel steps (`index..<pixels`), one at a time by `blendPixel`; `coverage`
    /// gives each one's.
    @inline(__always)
    static func blendTail(
        _ canvas: UnsafeMutablePointer<UInt8>,
        _ source: UnsafePointer<UInt8>,
        from index: Int,
        to pixels: Int,
        _ mode: BlendMode,
        coverage: (Int) -> UInt32
    ) {
        guard index < pixels else { return }
        let target = UnsafeMutableBufferPointer(start: canvas + index * 4, count: (pixels - index) * 4)
        let from = UnsafeBufferPointer(start: source + index * 4, count: (pixels - index) * 4)
        for pixel in index..<pixels {
            let offset = (pixel - index) * 4
            blendPixel(target, offset, from, offset, coverage(pixel), mode)
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

/// Eight 16-bit lanes holding the even (r, b) or the odd (g, α) channels of four premultiplied pixels, as
/// ``Raster/normalRow(_:_:pixels:coverage:)`` and ``Raster/screenRow(_:_:coverages:pixels:)`` split them.
extension SIMD8 where Scalar == UInt16 {
    /// `div255` in every lane: x / 255 rounded, exact for x ≤ 255 · 255.
    @inline(__always) fileprivate static func div255(_ x: Self) -> Self {
        let t = x &+ 128
        return (t &+ (t &>> 8)) &>> 8
    }

    /// From the odd channels (g, α per pixel): each pixel's alpha in both of its lanes.
    @inline(__always) fileprivate static func alphas(_ odd: Self) -> Self {
        let a = unsafeBitCast(odd, to: SIMD4<UInt32>.self) &>> 16
        return unsafeBitCast(a | (a &<< 16), to: Self.self)
    }
}
