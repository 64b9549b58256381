// Kiln — Apache-2.0. See LICENSE.

/// libpng's adaptive row-filter choice, made ahead of libpng, and the rows filtered by it.
///
/// With all five filters enabled, libpng (`png_write_find_filter`, 1.6) filters every row five ways into scratch
/// rows and keeps the one whose bytes, read as signed, have the smallest sum of absolute values ("minimum sum of
/// absolute differences"; the first of equal sums in the order none, sub, up, average, Paeth). That scalar C is most
/// of a token image's PNG encode. Kiln computes the same sums here, 16 bytes at a time. A whole image's rows are
/// filtered in the same pass (``filtered(_:channels:)``) and handed to libpng to frame; a strip encoder hands libpng
/// one filter per row instead (``choose(_:channels:above:)``: libpng lets an application change the filter set
/// between rows, once the first row was written with all five). The choice is libpng's own rule, so the bytes are
/// those of libpng's adaptive encode: `PNGRowFilterTests` encodes images both ways and compares the files.
/// Hand-written because libpng has no API for "the filter you would choose", and applies filters a byte at a time.
enum PNGRowFilters {
    /// libpng's masks for one filter each (`PNG_FILTER_NONE` … `PNG_FILTER_PAETH`), and all five.
    static let masks: [UInt8] = [0x08, 0x10, 0x20, 0x40, 0x80]
    static let all: UInt8 = 0xF8

    /// The filter mask for each row of `image` as libpng writes it (`channels` 3: RGB, the alpha byte dropped;
    /// 4: RGBA). The first row keeps all five (libpng chooses it itself and allocates its buffers then).
    /// `above`: for a strip of a larger image, the RGBA pixels of the row before the strip (its first row is then
    /// chosen against it, as in the whole image).
    static func choose(_ image: RGBAImage, channels: Int, above: [UInt8]? = nil) -> [UInt8] {
        var choices = [UInt8](repeating: all, count: image.height)
        eachRow(of: image, channels: channels, above: above, candidates: nil) { y, best, _, _ in
            if y > 0 || above != nil { choices[y] = masks[best] }
        }
        return choices
    }

    /// The bytes libpng deflates into IDAT for `image` with adaptive filtering: each row's filter type (0 none,
    /// 1 sub, 2 up, 3 average, 4 Paeth: the one ``choose(_:channels:above:)`` picks, the first row against a row of
    /// zeros as libpng's zeroed `prev_row`) followed by the row filtered by it (`channels` 3: RGB, 4: RGBA).
    ///
    /// libpng 1.6 applies write filters a byte at a time (`png_setup_paeth_row_only` and its siblings, 6 % of a
    /// batch's CPU); here every filter is computed sixteen bytes at a time while the sums are made, and the chosen
    /// one is copied.
    static func filtered(_ image: RGBAImage, channels: Int) -> [UInt8] {
        let rowBytes = image.width * channels, rowLength = 1 + image.width * channels
        var candidates = [UInt8](repeating: 0, count: 4 * rowBytes)
        return [UInt8](unsafeUninitializedCapacity: rowLength * image.height) { out, initialized in
            candidates.withUnsafeMutableBufferPointer { candidates in
                let filteredRows = candidates.baseAddress!
                eachRow(of: image, channels: channels, above: nil, candidates: filteredRows) { y, best, row, _ in
                    let target = out.baseAddress! + y * rowLength
                    target.initialize(to: UInt8(best))
                    // Filter 0 is the row itself; 1…4 were written by the sums.
                    let source = best == 0 ? row : UnsafePointer(filteredRows + (best - 1) * rowBytes)
                    (target + 1).initialize(from: source, count: rowBytes)
                }
            }
            initialized = rowLength * image.height
        }
    }

    /// Walks `image`'s rows as libpng writes them (`channels` 3: the alpha byte dropped), calling `body` with each
    /// row's index, the filter libpng would choose (0…4), and the row's bytes and those of the row above (each after
    /// `channels` zero bytes). The first row is chosen against `above` (RGBA; nil: zeros). With `candidates`
    /// (4 × the row's bytes), the row filtered by sub, up, average and Paeth is written there before `body` runs.
    private static func eachRow(
        of image: RGBAImage,
        channels: Int,
        above: [UInt8]?,
        candidates: UnsafeMutablePointer<UInt8>?,
        _ body: (_ y: Int, _ best: Int, _ row: UnsafePointer<UInt8>, _ above: UnsafePointer<UInt8>) -> Void
    ) {
        let width = image.width, height = image.height
        let rowBytes = width * channels
        // Two rows, each after `channels` zero bytes: the left neighbour of a row's first pixel is zero, and so
        // is every byte of the row above the first.
        var previous = [UInt8](repeating: 0, count: channels + rowBytes)
        var current = previous
        func load(_ source: UnsafePointer<UInt8>, into row: inout [UInt8]) {
            row.withUnsafeMutableBufferPointer { row in
                if channels == 4 {
                    (row.baseAddress! + 4).update(from: source, count: rowBytes)
                } else {
                    var x = 0
                    #if _endian(little)
                        // Two pixels at a time: their eight bytes loaded as one word, the two alpha bytes squeezed
                        // out, six bytes kept (stored as eight; the next pair overwrites the two extra).
                        let from = UnsafeRawPointer(source), to = UnsafeMutableRawPointer(row.baseAddress! + 3)
                        while x * 3 + 8 <= rowBytes {
                            let pair = from.loadUnaligned(fromByteOffset: x * 4, as: UInt64.self)
                            let packed = (pair & 0x00FF_FFFF) | ((pair >> 8) & 0xFFFF_FF00_0000)
                            to.storeBytes(of: packed, toByteOffset: x * 3, as: UInt64.self)
                            x += 2
                        }
                    #endif
                    while x < width {
                        row[3 + x * 3] = source[x * 4]
                        row[4 + x * 3] = source[x * 4 + 1]
                        row[5 + x * 3] = source[x * 4 + 2]
                        x += 1
                    }
                }
            }
        }
        if let above, above.count == width * 4 {
            above.withUnsafeBufferPointer { load($0.baseAddress!, into: &previous) }
        }
        image.pixels.withUnsafeBufferPointer { pixels in
            for y in 0..<height {
                load(pixels.baseAddress! + y * width * 4, into: &current)
                current.withUnsafeBufferPointer { row in
                    previous.withUnsafeBufferPointer { above in
                        let sums = Self.sums(
                            row.baseAddress!,
                            above.baseAddress!,
                            bpp: channels,
                            count: rowBytes,
                            candidates: candidates
                        )
                        var best = 0
                        for filter in 1..<5 where sums[filter] < sums[best] { best = filter }
                        body(y, best, row.baseAddress! + channels, above.baseAddress! + channels)
                    }
                }
                swap(&previous, &current)
            }
        }
    }

    /// libpng's sum for each filter (none, sub, up, average, Paeth: lanes 0…4) of one row: `row` and `above` each
    /// start with `bpp` zero bytes, then `count` bytes of the row. With `candidates` (4 × `count` bytes), the row
    /// filtered by sub, up, average and Paeth is written there, one after the other.
    ///
    /// Sixteen bytes at a time in 8-bit lanes. Every byte `v` of a filtered row counts as `min(v, 256 − v)`, which
    /// is `min(v, 0 &- v)` in a byte; those are added into 16-bit lanes (a byte pair's two costs at a time).
    /// Paeth's predictor is chosen without leaving 8 bits (as fpnge does): with `pa = |b − c|` and `pb = |a − c|`,
    /// `pc = |a + b − 2c|` is `pa + pb` when `a` and `b` are on the same side of `c` and `|pa − pb|` otherwise; the
    /// sum is saturated at 255, which changes no comparison (`pa` and `pb` are both at most that sum).
    static func sums(
        _ row: UnsafePointer<UInt8>,
        _ above: UnsafePointer<UInt8>,
        bpp: Int,
        count: Int,
        candidates: UnsafeMutablePointer<UInt8>? = nil
    ) -> SIMD8<Int> {
        typealias Bytes = SIMD16<UInt8>
        typealias Lanes = SIMD8<UInt16>
        var totals = SIMD8<Int>()
        var none = Lanes(), sub = Lanes(), up = Lanes(), average = Lanes(), paeth = Lanes()
        /// Each byte's cost, the two of each byte pair added in a 16-bit lane.
        @inline(__always) func cost(_ v: Bytes) -> Lanes {
            let pairs = unsafeBitCast(pointwiseMin(v, 0 &- v), to: Lanes.self)
            return (pairs & 0xFF) &+ (pairs &>> 8)
        }
        @inline(__always) func distance(_ p: Bytes, _ q: Bytes) -> Bytes { pointwiseMax(p, q) &- pointwiseMin(p, q) }
        @inline(__always) func total(_ lanes: Lanes) -> Int {
            Int(SIMD8<UInt32>(truncatingIfNeeded: lanes).wrappedSum())
        }
        func flush() {
            totals &+= SIMD8(total(none), total(sub), total(up), total(average), total(paeth), 0, 0, 0)
            (none, sub, up, average, paeth) = (Lanes(), Lanes(), Lanes(), Lanes(), Lanes())
        }
        var index = 0, steps = 0
        while index + 16 <= count {
            let x = UnsafeRawPointer(row + bpp + index).loadUnaligned(as: Bytes.self)
            let a = UnsafeRawPointer(row + index).loadUnaligned(as: Bytes.self)
            let b = UnsafeRawPointer(above + bpp + index).loadUnaligned(as: Bytes.self)
            let c = UnsafeRawPointer(above + index).loadUnaligned(as: Bytes.self)
            let pa = distance(b, c), pb = distance(a, c)
            // pa + pb saturated at 255: pa + min(pb, 255 − pa).
            var pc = pa &+ pointwiseMin(pb, ~pa)
            pc.replace(with: distance(pa, pb), where: (a .< c) .^ (b .< c))
            var predicted = c
            predicted.replace(with: b, where: pb .<= pc)
            predicted.replace(with: a, where: (pa .<= pb) .& (pa .<= pc))
            // ⌊(a + b) / 2⌋ without leaving 8 bits.
            let filtered = (x &- a, x &- b, x &- ((a & b) &+ ((a ^ b) &>> 1)), x &- predicted)
            none &+= cost(x)
            sub &+= cost(filtered.0)
            up &+= cost(filtered.1)
            average &+= cost(filtered.2)
            paeth &+= cost(filtered.3)
            if let candidates {
                let out = UnsafeMutableRawPointer(candidates + index)
                out.storeBytes(of: filtered.0, as: Bytes.self)
                out.storeBytes(of: filtered.1, toByteOffset: count, as: Bytes.self)
                out.storeBytes(of: filtered.2, toByteOffset: 2 * count, as: Bytes.self)
                out.storeBytes(of: filtered.3, toByteOffset: 3 * count, as: Bytes.self)
            }
            index += 16
            steps += 1
            // Each step adds at most 2 × 128 to a lane.
            if steps == 255 {
                flush()
                steps = 0
            }
        }
        flush()
        while index < count {
            let x = Int(row[bpp + index]), a = Int(row[index]), b = Int(above[bpp + index]), c = Int(above[index])
            let pa = abs(b - c), pb = abs(a - c), pc = abs(a + b - 2 * c)
            let predicted = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
            let bytes = SIMD8(x, x - a, x - b, x - (a + b) / 2, x - predicted, 0, 0, 0) & 0xFF
            totals &+= bytes.replacing(with: 256 &- bytes, where: bytes .> 128)
            if let candidates {
                for filter in 1..<5 { candidates[(filter - 1) * count + index] = UInt8(bytes[filter]) }
            }
            index += 1
        }
        return totals
    }
}
