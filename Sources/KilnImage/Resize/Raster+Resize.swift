// Kiln — Apache-2.0. See LICENSE.

extension Raster {
    /// A smaller copy by area averaging (thumbnails): each output pixel is the exact mean of the source area it
    /// covers, partial pixels weighted by their covered fraction, rounded once.
    /// - Throws: ``ImageError/Code/invalidArgument`` unless `1 ≤ width ≤ self.width` and `1 ≤ height ≤ self.height`.
    public func downscaled(width: Int, height: Int) throws(ImageError) -> Raster {
        guard width >= 1, height >= 1, width <= self.width, height <= self.height else {
            throw ImageError(
                .invalidArgument,
                "Unable to downscale \(self.width)×\(self.height) to \(width)×\(height): the target must be 1…source on each side"
            )
        }
        if width == self.width && height == self.height { return self }
        let columns = Self.coverage(source: self.width, target: width)
        let rows = Self.coverage(source: self.height, target: height)
        // Horizontal pass: sums weighted in units of 1/width of a source pixel (values ≤ 255 · sourceWidth).
        var horizontal = [UInt32](repeating: 0, count: self.height * width * 4)
        pixels.withUnsafeBufferPointer { source in
            horizontal.withUnsafeMutableBufferPointer { sums in
                for y in 0..<self.height {
                    let sourceRow = y * stride
                    let sumRow = y * width * 4
                    for (output, weights) in columns.enumerated() {
                        var r: UInt32 = 0, g: UInt32 = 0, b: UInt32 = 0, a: UInt32 = 0
                        for (index, weight) in weights {
                            let o = sourceRow + index * 4
                            r += UInt32(source[o]) * weight
                            g += UInt32(source[o + 1]) * weight
                            b += UInt32(source[o + 2]) * weight
                            a += UInt32(source[o + 3]) * weight
                        }
                        let o = sumRow + output * 4
                        sums[o] = r
                        sums[o + 1] = g
                        sums[o + 2] = b
                        sums[o + 3] = a
                    }
                }
            }
        }
        // Vertical pass and the one rounding: divide by sourceWidth · sourceHeight.
        let total = UInt64(self.width) * UInt64(self.height)
        var out = [UInt8](repeating: 0, count: width * height * 4)
        horizontal.withUnsafeBufferPointer { sums in
            out.withUnsafeMutableBufferPointer { target in
                for (outputRow, weights) in rows.enumerated() {
                    for column in 0..<(width * 4) {
                        var sum: UInt64 = 0
                        for (index, weight) in weights {
                            sum += UInt64(sums[index * width * 4 + column]) * UInt64(weight)
                        }
                        target[outputRow * width * 4 + column] = UInt8((sum + total / 2) / total)
                    }
                }
            }
        }
        return Raster(width: width, height: height, premultiplied: out)
    }

    /// For each output cell, the source cells it overlaps and the overlap length, both measured in units where
    /// a source cell is `target` long and an output cell `source` long (so every length is an integer).
    static func coverage(source: Int, target: Int) -> [[(index: Int, weight: UInt32)]] {
        (0..<target).map { output in
            let start = output * source
            let end = start + source
            var cells: [(index: Int, weight: UInt32)] = []
            var index = start / target
            while index * target < end {
                let overlap = min(end, (index + 1) * target) - max(start, index * target)
                if overlap > 0 { cells.append((index, UInt32(overlap))) }
                index += 1
            }
            return cells
        }
    }

    /// A copy scaled to any size by bilinear interpolation with pixel centres aligned (as Pillow's and
    /// CSS's bilinear do), weights as exact fractions and one rounding; edges are clamped.
    /// - Throws: ``ImageError/Code/invalidArgument`` for a size outside 1…``maxSide``.
    public func scaled(width: Int, height: Int) throws(ImageError) -> Raster {
        guard (1...Self.maxSide).contains(width), (1...Self.maxSide).contains(height) else {
            throw ImageError(
                .invalidArgument,
                "Unable to scale to \(width)×\(height): each side must be 1…\(Self.maxSide)"
            )
        }
        if width == self.width && height == self.height { return self }
        // Source coordinate of output centre o: (o + ½)·S/T − ½ = ((2o + 1)·S − T) / 2T.
        func taps(_ output: Int, source: Int, target: Int) -> (Int, Int, UInt64) {
            let numerator = (2 * output + 1) * source - target
            let denominator = 2 * target
            if numerator <= 0 { return (0, 0, 0) }
            let low = numerator / denominator
            if low >= source - 1 { return (source - 1, source - 1, 0) }
            return (low, low + 1, UInt64(numerator - low * denominator))
        }
        let xTaps = (0..<width).map { taps($0, source: self.width, target: width) }
        let yTaps = (0..<height).map { taps($0, source: self.height, target: height) }
        let wx = UInt64(2 * width)
        let wy = UInt64(2 * height)
        let total = wx * wy
        var out = [UInt8](repeating: 0, count: width * height * 4)
        pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { target in
                var o = 0
                for (y0, y1, fy) in yTaps {
                    for (x0, x1, fx) in xTaps {
                        let w00 = (wx - fx) * (wy - fy), w10 = fx * (wy - fy), w01 = (wx - fx) * fy, w11 = fx * fy
                        let p00 = y0 * stride + x0 * 4, p10 = y0 * stride + x1 * 4
                        let p01 = y1 * stride + x0 * 4, p11 = y1 * stride + x1 * 4
                        for c in 0..<4 {
                            let sum =
                                UInt64(source[p00 + c]) * w00 + UInt64(source[p10 + c]) * w10
                                + UInt64(source[p01 + c]) * w01 + UInt64(source[p11 + c]) * w11
                            target[o + c] = UInt8((sum + total / 2) / total)
                        }
                        o += 4
                    }
                }
            }
        }
        return Raster(width: width, height: height, premultiplied: out)
    }
}
