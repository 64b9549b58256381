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
        var columns = Taps(Self.coverage(source: self.width, target: width))
        var rows = Taps(Self.coverage(source: self.height, target: height))
        // Every output byte is floor((S + floor(T/2)) / T): S the sum of source bytes weighted by overlap, T =
        // width · height of the source (the weights' total). When every column weight shares a factor gx and every
        // row weight a factor gy, with k = gx·gy, S = k·s and T = k·t, and floor((k·s + H) / (k·t)) =
        // floor((s + floor(H / k)) / t) for an integer s (what H/k adds beyond its floor is less than 1/t). A
        // thumbnail (384² → 256², t = 9) then needs only 16-bit sums and a multiply by t's reciprocal, exact for
        // every sum (below).
        let (gx, gy) = (columns.reduce(), rows.reduce())
        let t = (self.width / gx) * (self.height / gy)
        // ⌊⌊T/2⌋ / k⌋, the rounding's half in the reduced units (below 2^25: sides are at most 8192).
        let half = UInt32((self.width * self.height / 2) / (gx * gy))
        if t <= Self.narrowLimit {
            // Every sum at most 256·16, so 16-bit lanes throughout; n ≤ 256·t and m = ⌈2^16 / t⌉ = (2^16 + e) / t with
            // e < t, so n·e < 256·t² ≤ 2^16 and (n·m) >> 16 is n / t (a high-half multiply).
            let out = areaAverageNarrow(columns, rows, width: width, height: height, half: UInt16(half), t: t)
            return Raster(width: width, height: height, premultiplied: out)
        }
        if t <= Self.reciprocalLimit {
            // n = s + h ≤ 256·t; m = ⌈2^23 / t⌉ = (2^23 + e) / t with 0 ≤ e < t, so n·m / 2^23 = n/t + n·e/(t·2^23)
            // and n·e < 256·t² ≤ 2^23: the floor is n / t's. n·m < 2^32: 32-bit lanes.
            let reciprocal = Self.reciprocal(t)
            let out = areaAverage(columns, rows, width: width, height: height, half: half) {
                UInt8(truncatingIfNeeded: ($0 &* reciprocal) >> 23)
            }
            return Raster(width: width, height: height, premultiplied: out)
        }
        // Otherwise in Double: every sum is exact (≤ 255 · 8192² < 2^53), and so is the floor of the correctly
        // rounded quotient: it is below 256 and at least 1/T from the next integer, far more than the rounding
        // error (2^-45). Doubles vectorise; 64-bit integer division was most of the time of a thumbnail.
        let divisor = Double(t)
        let magic = 6_755_399_441_055_744.0  // 1.5 · 2^52
        let out = areaAverage(columns, rows, width: width, height: height, half: Double(half)) { sum in
            // floor(q) without a trapping conversion (which keeps the loop from vectorising): adding 1.5·2^52
            // rounds q to the nearest integer, held in the low bits; one less where that rounded up.
            let q = sum / divisor
            let nearest = (q + magic) - magic
            let floor = nearest > q ? nearest - 1 : nearest
            return UInt8(truncatingIfNeeded: (floor + magic).bitPattern)
        }
        return Raster(width: width, height: height, premultiplied: out)
    }

    /// Both passes and the one rounding: for each output row, `half` plus the horizontal sums of the source rows it
    /// covers, weighted, then `byte` of each. A source row's horizontal sums are made when an output row first
    /// needs them and kept in a ring of as many rows as one output row covers at most (its rows are consecutive,
    /// and later output rows need no earlier ones), not for the whole image at once (1.5 MiB for a thumbnail,
    /// zeroed, written and read back).
    @inline(__always)
    private func areaAverage<Sum: AreaSum>(
        _ columns: Taps,
        _ rows: Taps,
        width: Int,
        height: Int,
        half: Sum,
        byte: (Sum) -> UInt8
    ) -> [UInt8] {
        let sumStride = width * 4
        let ring = (0..<height).reduce(1) { max($0, rows.range($1).count) }
        var horizontal = [UInt32](repeating: 0, count: ring * sumStride)
        var ringRow = [Int](repeating: -1, count: ring)
        var row = [Sum](repeating: half, count: sumStride)
        // Each tap's byte offset in a source row and its weight, side by side: no array look-ups per pixel.
        let taps = zip(columns.index, columns.weight).map { (offset: $0 * 4, weight: $1) }
        // Every byte is written below.
        return [UInt8](unsafeUninitializedCapacity: width * height * 4) { target, count in
            pixels.withUnsafeBytes { source in
                horizontal.withUnsafeMutableBufferPointer { sums in
                    row.withUnsafeMutableBufferPointer { row in
                        taps.withUnsafeBufferPointer { taps in
                            columns.starts.withUnsafeBufferPointer { starts in
                                for outputRow in 0..<height {
                                    let range = rows.range(outputRow)
                                    for tap in range {
                                        let sourceRow = rows.index[tap]
                                        let slot = sourceRow % ring
                                        if ringRow[slot] != sourceRow {
                                            Self.horizontalSums(
                                                of: source.baseAddress! + sourceRow * stride,
                                                into: UnsafeMutableRawPointer(sums.baseAddress! + slot * sumStride),
                                                taps: taps,
                                                starts: starts,
                                                width: width
                                            )
                                            ringRow[slot] = sourceRow
                                        }
                                    }
                                    @inline(__always) func sumsOf(_ tap: Int) -> UnsafeMutablePointer<UInt32> {
                                        sums.baseAddress! + (rows.index[tap] % ring) * sumStride
                                    }
                                    let to = target.baseAddress! + outputRow * sumStride
                                    if range.count == 2 {
                                        // Two source rows (every row of a 3:2 reduction): one pass.
                                        let (a, b) = (sumsOf(range.lowerBound), sumsOf(range.lowerBound + 1))
                                        let (wa, wb) = (
                                            Sum(rows.weight[range.lowerBound]), Sum(rows.weight[range.lowerBound + 1])
                                        )
                                        for column in 0..<sumStride {
                                            var sum = half
                                            sum.add(a[column], times: wa)
                                            sum.add(b[column], times: wb)
                                            to[column] = byte(sum)
                                        }
                                        continue
                                    }
                                    for column in 0..<sumStride { row[column] = half }
                                    for tap in range {
                                        let from = sumsOf(tap)
                                        let weight = Sum(rows.weight[tap])
                                        for column in 0..<sumStride { row[column].add(from[column], times: weight) }
                                    }
                                    for column in 0..<sumStride { to[column] = byte(row[column]) }
                                }
                            }
                        }
                    }
                }
            }
            count = width * height * 4
        }
    }

    /// ``areaAverage(_:_:width:height:half:byte:)`` for a reduced total `t` ≤ ``narrowLimit`` (a thumbnail's 3:2 has
    /// t = 9, 2:1 has 4): sums of 16 bits, eight at a time, and the quotient by a 16-bit reciprocal.
    private func areaAverageNarrow(_ columns: Taps, _ rows: Taps, width: Int, height: Int, half: UInt16, t: Int)
        -> [UInt8]
    {
        typealias Lanes = SIMD8<UInt16>
        let sumStride = width * 4
        let padded = (sumStride + 7) & ~7  // whole vectors per row
        let ring = (0..<height).reduce(1) { max($0, rows.range($1).count) }
        var horizontal = [UInt16](repeating: 0, count: ring * padded)
        var ringRow = [Int](repeating: -1, count: ring)
        var row = [UInt16](repeating: 0, count: padded)
        let reciprocal = SIMD8<UInt32>(repeating: UInt32((65536 + t - 1) / t))
        let taps = zip(columns.index, columns.weight).map { (offset: $0 * 4, weight: UInt16($1)) }
        let twoTaps = (0..<width).allSatisfy { columns.range($0).count == 2 }
        return [UInt8](unsafeUninitializedCapacity: width * height * 4) { target, count in
            pixels.withUnsafeBytes { source in
                horizontal.withUnsafeMutableBufferPointer { sums in
                    row.withUnsafeMutableBufferPointer { row in
                        taps.withUnsafeBufferPointer { taps in
                            for outputRow in 0..<height {
                                let range = rows.range(outputRow)
                                for tap in range {
                                    let sourceRow = rows.index[tap]
                                    let slot = sourceRow % ring
                                    guard ringRow[slot] != sourceRow else { continue }
                                    // The horizontal pass of one source row.
                                    let from = source.baseAddress! + sourceRow * stride
                                    let to = UnsafeMutableRawPointer(sums.baseAddress! + slot * padded)
                                    ringRow[slot] = sourceRow
                                    if twoTaps {
                                        // Two taps for every output pixel (3:2, 2:1): no loop over them.
                                        for output in 0..<width {
                                            let (a, b) = (taps[2 &* output], taps[2 &* output &+ 1])
                                            let pa = from.loadUnaligned(fromByteOffset: a.offset, as: SIMD4<UInt8>.self)
                                            let pb = from.loadUnaligned(fromByteOffset: b.offset, as: SIMD4<UInt8>.self)
                                            let sum =
                                                SIMD4<UInt16>(truncatingIfNeeded: pa) &* a.weight
                                                &+ SIMD4<UInt16>(truncatingIfNeeded: pb) &* b.weight
                                            to.storeBytes(of: sum, toByteOffset: output &* 8, as: SIMD4<UInt16>.self)
                                        }
                                        continue
                                    }
                                    for output in 0..<width {
                                        var sum = SIMD4<UInt16>()
                                        for tap in columns.range(output) {
                                            let pixel = from.loadUnaligned(
                                                fromByteOffset: taps[tap].offset,
                                                as: SIMD4<UInt8>.self
                                            )
                                            sum &+= SIMD4(truncatingIfNeeded: pixel) &* taps[tap].weight
                                        }
                                        to.storeBytes(of: sum, toByteOffset: output * 8, as: SIMD4<UInt16>.self)
                                    }
                                }
                                // The vertical pass, eight sums at a time.
                                for column in Swift.stride(from: 0, to: padded, by: 8) {
                                    row.storeBytes(column, Lanes(repeating: half))
                                }
                                for tap in range {
                                    let from = UnsafeRawPointer(sums.baseAddress! + (rows.index[tap] % ring) * padded)
                                    let weight = rows.weight[tap]
                                    for column in Swift.stride(from: 0, to: padded, by: 8) {
                                        let sum =
                                            row.load(column) &+ from.loadUnaligned(
                                                fromByteOffset: column * 2,
                                                as: Lanes.self
                                            ) &* UInt16(weight)
                                        row.storeBytes(column, sum)
                                    }
                                }
                                let to = target.baseAddress! + outputRow * sumStride
                                var column = 0
                                while column + 8 <= sumStride {
                                    let quotient =
                                        (SIMD8<UInt32>(truncatingIfNeeded: row.load(column)) &* reciprocal) &>> 16
                                    UnsafeMutableRawPointer(to + column).storeBytes(
                                        of: SIMD8<UInt8>(truncatingIfNeeded: quotient),
                                        as: SIMD8<UInt8>.self
                                    )
                                    column += 8
                                }
                                while column < sumStride {
                                    to[column] = UInt8(truncatingIfNeeded: (UInt32(row[column]) &* reciprocal[0]) >> 16)
                                    column += 1
                                }
                            }
                        }
                    }
                }
            }
            count = width * height * 4
        }
    }

    /// The largest reduced total `t` ``areaAverageNarrow(_:_:width:height:half:t:)`` is exact for: 256·t² ≤ 2^16.
    static let narrowLimit = 16

    /// The largest reduced total `t` the 32-bit reciprocal path is exact for: 256·t² ≤ 2^23.
    static let reciprocalLimit = 181

    /// ⌈2^23 / t⌉: for every n ≤ 256·t (t ≤ ``reciprocalLimit``), `(n · reciprocal(t)) >> 23` is n / t.
    static func reciprocal(_ t: Int) -> UInt32 { UInt32(((1 << 23) + t - 1) / t) }

    /// The horizontal pass of one source row: for each output column, the four channels' sums weighted by the
    /// column taps (values ≤ 255 · the weights' total).
    @inline(__always)
    private static func horizontalSums(
        of sourceRow: UnsafeRawPointer,
        into sumRow: UnsafeMutableRawPointer,
        taps: UnsafeBufferPointer<(offset: Int, weight: UInt32)>,
        starts: UnsafeBufferPointer<Int>,
        width: Int
    ) {
        for output in 0..<width {
            var sum = SIMD4<UInt32>()
            for tap in starts[output]..<starts[output + 1] {
                let pixel = sourceRow.loadUnaligned(fromByteOffset: taps[tap].offset, as: SIMD4<UInt8>.self)
                sum &+= SIMD4(truncatingIfNeeded: pixel) &* taps[tap].weight
            }
            sumRow.storeBytes(of: sum, toByteOffset: output * 16, as: SIMD4<UInt32>.self)
        }
    }

    /// ``coverage(source:target:)`` flattened: the taps of output `o` are `index[range(o)]`, `weight[range(o)]`.
    struct Taps {
        var index: [Int] = []
        var weight: [UInt32] = []
        var starts: [Int] = [0]
        init(_ cells: [[(index: Int, weight: UInt32)]]) {
            for output in cells {
                for cell in output {
                    index.append(cell.index)
                    weight.append(cell.weight)
                }
                starts.append(index.count)
            }
        }
        func range(_ output: Int) -> Range<Int> { starts[output]..<starts[output + 1] }

        /// Divides every weight by their greatest common divisor, and returns it.
        mutating func reduce() -> Int {
            var divisor: UInt32 = 0
            for weight in weight {
                var (a, b) = (divisor, weight)
                while b != 0 { (a, b) = (b, a % b) }
                divisor = a
            }
            guard divisor > 1 else { return 1 }
            for index in weight.indices { weight[index] /= divisor }
            return Int(divisor)
        }
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

/// A sum of the vertical pass: 32-bit integers (wrapping: the caller bounds every sum) or exact doubles.
protocol AreaSum {
    init(_ value: UInt32)
    mutating func add(_ value: UInt32, times weight: Self)
}

extension UInt32: AreaSum {
    @inline(__always) mutating func add(_ value: UInt32, times weight: UInt32) { self &+= value &* weight }
}

extension Double: AreaSum {
    @inline(__always) mutating func add(_ value: UInt32, times weight: Double) { self += Double(value) * weight }
}

extension UnsafeMutableBufferPointer<UInt16> {
    /// Eight sums from `index` (a multiple of 8 within the buffer).
    @inline(__always) fileprivate func load(_ index: Int) -> SIMD8<UInt16> {
        UnsafeRawPointer(baseAddress! + index).loadUnaligned(as: SIMD8<UInt16>.self)
    }
    @inline(__always) fileprivate func storeBytes(_ index: Int, _ value: SIMD8<UInt16>) {
        UnsafeMutableRawPointer(baseAddress! + index).storeBytes(of: value, as: SIMD8<UInt16>.self)
    }
}
