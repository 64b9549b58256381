import Foundation
@testable import KilnImage
import KilnTesting
import Testing

struct CompositeTests {
    /// The straightforward reference: straight colours, the W3C formulas in Double, rounded once.
    static func reference(
        canvas: Raster,
        layer: Raster,
        x: Int,
        y: Int,
        mode: BlendMode,
        opacity: Double,
        mask: Mask?
    ) -> [UInt8] {
        var out = canvas.pixels
        let coverage = (opacity * 255).rounded()
        for cy in 0..<canvas.height {
            for cx in 0..<canvas.width {
                let lx = cx - x, ly = cy - y
                guard lx >= 0, ly >= 0, lx < layer.width, ly < layer.height else { continue }
                var m = coverage
                if let mask {
                    if lx >= mask.raster.width || ly >= mask.raster.height {
                        m = 0
                    } else {
                        let (r, g, b, a) = mask.raster.premultipliedPixel(x: lx, y: ly)
                        let value =
                            mask.channel == .alpha
                            ? Double(a) : Double((77 * Int(r) + 150 * Int(g) + 29 * Int(b) + 128) >> 8)
                        m = (coverage * value / 255).rounded()
                    }
                }
                let (r, g, b, a) = layer.premultipliedPixel(x: lx, y: ly)
                let sa = (Double(a) * m / 255).rounded()
                let source = [r, g, b].map { (Double($0) * m / 255).rounded() }
                let o = cy * canvas.stride + cx * 4
                let ba = Double(out[o + 3])
                guard sa > 0 else { continue }
                let outAlpha = (sa + ba - sa * ba / 255).rounded()
                for channel in 0..<3 {
                    let cs = source[channel], cb = Double(out[o + channel])
                    let Cs = cs / sa, Cb = ba > 0 ? cb / ba : 0
                    let B: Double
                    switch mode {
                    case .normal: B = Cs
                    case .multiply: B = Cs * Cb
                    case .screen: B = Cs + Cb - Cs * Cb
                    case .overlay: B = Cb <= 0.5 ? 2 * Cs * Cb : 1 - 2 * (1 - Cs) * (1 - Cb)
                    case .add: B = min(1, Cs + Cb)
                    }
                    let co = cs / 255 * (1 - ba / 255) + cb / 255 * (1 - sa / 255) + (sa / 255) * (ba / 255) * B
                    out[o + channel] = UInt8(min((co * 255).rounded(), outAlpha))
                }
                out[o + 3] = UInt8(outAlpha)
            }
        }
        return out
    }

    /// Composites `layer` onto `canvas` and compares every byte with ``reference(canvas:layer:x:y:mode:opacity:mask:)``,
    /// recording the first pixel that differs (`context` says which case it was); whether all matched.
    static func compositeMatchesReference(
        _ canvas: inout Raster,
        _ layer: Raster,
        x: Int,
        y: Int,
        mode: BlendMode,
        opacity: Double,
        mask: Mask?,
        _ context: String
    ) throws -> Bool {
        let expected = reference(canvas: canvas, layer: layer, x: x, y: y, mode: mode, opacity: opacity, mask: mask)
        try canvas.composite(layer, x: x, y: y, mode: mode, opacity: opacity, mask: mask)
        guard let index = canvas.pixels.indices.first(where: { canvas.pixels[$0] != expected[$0] }) else { return true }
        let pixel = index / 4
        Issue.record(
            """
            \(context): pixel (\(pixel % canvas.width), \(pixel / canvas.width)) is \
            \(canvas.pixels[pixel * 4..<pixel * 4 + 4]), reference \(expected[pixel * 4..<pixel * 4 + 4])
            """
        )
        return false
    }

    static func randomRaster(_ generator: inout SeededGenerator, maxSide: Int = 18) -> Raster {
        let width = Int.random(in: 1...maxSide, using: &generator)
        let height = Int.random(in: 1...maxSide, using: &generator)
        return Raster(
            randomImage(width: width, height: height, opaque: Int.random(in: 0..<4, using: &generator) == 0, &generator)
        )
    }

    @Test func matchesTheFloatReferenceForRandomLayers() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        for round in 0..<600 {
            var canvas = Self.randomRaster(&generator)
            let layer = Self.randomRaster(&generator)
            let x = Int.random(in: -layer.width...canvas.width, using: &generator)
            let y = Int.random(in: -layer.height...canvas.height, using: &generator)
            let mode = BlendMode.allCases[round % BlendMode.allCases.count]
            let opacity = [0, 1, 1, Double.random(in: 0...1, using: &generator)][
                Int.random(in: 0..<4, using: &generator)
            ]
            let mask =
                Bool.random(using: &generator)
                ? Mask(Self.randomRaster(&generator), channel: Bool.random(using: &generator) ? .alpha : .luminance)
                : nil
            let matches = try Self.compositeMatchesReference(
                &canvas,
                layer,
                x: x,
                y: y,
                mode: mode,
                opacity: opacity,
                mask: mask,
                "seed \(seed), round \(round): \(mode) at (\(x), \(y)), opacity \(opacity), mask \(mask?.channel.rawValue ?? "none")"
            )
            if !matches { break }
        }
    }

    /// A layer composited over its drawn part only (`drawn:`, as the renderer does for cached assets) gives the bytes
    /// of compositing it whole, in every mode, masked or not, at any place; and the drawn part is the smallest
    /// rectangle holding every pixel with a nonzero alpha.
    @Test func compositingTheDrawnPartGivesTheBytesOfTheWholeLayer() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        #expect(try Raster(width: 5, height: 3).drawnBounds().isEmpty)
        for round in 0..<400 {
            let canvas = Self.randomRaster(&generator, maxSide: 40)
            // A layer transparent outside a random rectangle (itself with some transparent pixels).
            var layer = Self.randomRaster(&generator, maxSide: 40)
            let left = Int.random(in: 0..<layer.width, using: &generator)
            let top = Int.random(in: 0..<layer.height, using: &generator)
            let right = Int.random(in: left..<layer.width, using: &generator)
            let bottom = Int.random(in: top..<layer.height, using: &generator)
            for y in 0..<layer.height {
                for x in 0..<layer.width where !(left...right).contains(x) || !(top...bottom).contains(y) {
                    for channel in 0..<4 { layer.pixels[(y * layer.width + x) * 4 + channel] = 0 }
                }
            }
            let drawn = layer.drawnBounds()
            let alphas = (0..<layer.width * layer.height).filter { layer.pixels[$0 * 4 + 3] != 0 }
            if alphas.isEmpty {
                #expect(drawn.isEmpty, "seed \(seed), round \(round)")
            } else {
                let xs = alphas.map { $0 % layer.width }, ys = alphas.map { $0 / layer.width }
                #expect(
                    drawn
                        == PixelRect(
                            x: xs.min()!,
                            y: ys.min()!,
                            width: xs.max()! - xs.min()! + 1,
                            height: ys.max()! - ys.min()! + 1
                        ),
                    "seed \(seed), round \(round)"
                )
            }
            let x = Int.random(in: -layer.width...canvas.width, using: &generator)
            let y = Int.random(in: -layer.height...canvas.height, using: &generator)
            let mode = BlendMode.allCases[round % BlendMode.allCases.count]
            let opacity = [1, Double.random(in: 0...1, using: &generator)][Int.random(in: 0..<2, using: &generator)]
            let mask = Bool.random(using: &generator) ? Mask(Self.randomRaster(&generator), channel: .luminance) : nil
            var (whole, part) = (canvas, canvas)
            try whole.composite(layer, x: x, y: y, mode: mode, opacity: opacity, mask: mask)
            try part.composite(layer, x: x, y: y, mode: mode, opacity: opacity, mask: mask, drawn: drawn)
            #expect(part == whole, "seed \(seed), round \(round): \(mode) at (\(x), \(y)), drawn \(drawn)")
            if part != whole { break }
        }
    }

    /// Calls `row(start, pixels)` over `count` pixels in rows of 1…7 pixels, so each tail length after the 4-pixel
    /// steps comes up.
    static func inRows(of count: Int, _ row: (Int, Int) -> Void) {
        var start = 0, length = 1
        while start < count {
            let pixels = min(length, count - start)
            row(start, pixels)
            start += pixels
            length = length % 7 + 1
        }
    }

    /// A source and a backdrop row with every pair of alphas side by side, random premultiplied colours.
    static func everyPairOfAlphas(_ generator: inout SeededGenerator) -> (source: [UInt8], backdrop: [UInt8]) {
        func pixel(alpha: Int) -> [UInt8] {
            (0..<3).map { _ in UInt8(Int.random(in: 0...alpha, using: &generator)) } + [UInt8(alpha)]
        }
        var source: [UInt8] = [], backdrop: [UInt8] = []
        for sa in 0...255 {
            for ba in 0...255 {
                source += pixel(alpha: sa)
                backdrop += pixel(alpha: ba)
            }
        }
        return (source, backdrop)
    }

    /// A vectorised row function against `blendPixel` in `mode`, one pixel at a time: every pair of source and
    /// backdrop alphas with random premultiplied colours, pixel `i` at coverage `coverage(i)`, over rows whose
    /// length leaves every tail (0…3 pixels after the 4-pixel steps). `row(canvas, source, start, pixels)` blends
    /// `pixels` pixels from pixel `start`.
    static func rowMatchesBlendPixel(
        _ mode: BlendMode,
        coverage: (Int) -> UInt32,
        _ generator: inout SeededGenerator,
        _ context: String,
        row: (UnsafeMutablePointer<UInt8>, UnsafePointer<UInt8>, Int, Int) -> Void
    ) {
        let (source, backdrop) = everyPairOfAlphas(&generator)
        var expected = backdrop
        expected.withUnsafeMutableBufferPointer { canvas in
            source.withUnsafeBufferPointer { layer in
                for offset in stride(from: 0, to: layer.count, by: 4) {
                    Raster.blendPixel(canvas, offset, layer, offset, coverage(offset / 4), mode)
                }
            }
        }
        var vectorised = backdrop
        vectorised.withUnsafeMutableBufferPointer { canvas in
            source.withUnsafeBufferPointer { layer in
                inRows(of: layer.count / 4) { start, pixels in
                    row(canvas.baseAddress!, layer.baseAddress!, start, pixels)
                }
            }
        }
        if let index = expected.indices.first(where: { expected[$0] != vectorised[$0] }) {
            let at = index / 4 * 4
            Issue.record(
                """
                \(context), coverage \(coverage(at / 4)): source \(source[at..<at + 4]) over \(backdrop[at..<at + 4]) \
                gave \(vectorised[at..<at + 4]), blendPixel \(expected[at..<at + 4])
                """
            )
        }
    }

    /// The vectorised screen (`Raster.screenRow`), each pixel at its own coverage (0, 255 and random ones, as a
    /// mask gives).
    @Test func vectorisedScreenIsBlendPixelByteForByte() {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        let coverages = (0..<(256 * 256)).map { [0, 255, UInt16.random(in: 0...255, using: &generator)][$0 % 3] }
        coverages.withUnsafeBufferPointer { coverages in
            Self.rowMatchesBlendPixel(.screen, coverage: { UInt32(coverages[$0]) }, &generator, "seed \(seed)") {
                canvas,
                layer,
                start,
                pixels in
                Raster.screenRow(
                    canvas + start * 4,
                    layer + start * 4,
                    coverages: coverages.baseAddress! + start,
                    pixels: pixels
                )
            }
        }
    }

    /// The vectorised source-over (`Raster.normalRow`) at several coverages.
    @Test(arguments: [255, 230, 128, 1] as [UInt32])
    func vectorisedSourceOverIsBlendPixelByteForByte(coverage: UInt32) {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        Self.rowMatchesBlendPixel(.normal, coverage: { _ in coverage }, &generator, "seed \(seed)") {
            canvas,
            layer,
            start,
            pixels in
            Raster.normalRow(canvas + start * 4, layer + start * 4, pixels: pixels, coverage: coverage)
        }
    }

    @Test func resultsStayPremultiplied() throws {
        var generator = SeededGenerator(seed: 99)
        for mode in BlendMode.allCases {
            var canvas = Self.randomRaster(&generator, maxSide: 40)
            for _ in 0..<5 {
                try canvas.composite(Self.randomRaster(&generator, maxSide: 40), x: 0, y: 0, mode: mode, opacity: 0.7)
            }
            for index in stride(from: 0, to: canvas.pixels.count, by: 4) {
                let a = canvas.pixels[index + 3]
                #expect(
                    canvas.pixels[index] <= a && canvas.pixels[index + 1] <= a && canvas.pixels[index + 2] <= a,
                    "\(mode)"
                )
            }
        }
    }

    @Test func clipsAtEveryEdge() throws {
        let base = try Raster(width: 4, height: 3, color: .black)
        let red = try Raster(width: 2, height: 2, color: try Color(hex: "#ff0000"))
        for (x, y) in [(-2, 0), (4, 0), (0, -2), (0, 3), (-100, -100), (100, 100)] {
            var canvas = base
            try canvas.composite(red, x: x, y: y)
            #expect(canvas == base, "entirely outside at (\(x), \(y))")
        }
        var canvas = base
        try canvas.composite(red, x: -1, y: 2)  // only its top-right pixel lands, at (0, 2)
        for y in 0..<3 {
            for x in 0..<4 {
                let expected: (UInt8, UInt8, UInt8, UInt8) = (x, y) == (0, 2) ? (255, 0, 0, 255) : (0, 0, 0, 255)
                #expect(canvas.premultipliedPixel(x: x, y: y) == expected, "(\(x), \(y))")
            }
        }
        canvas = base
        try canvas.composite(red, x: 3, y: -1)  // its bottom-left pixel, at (3, 0)
        #expect(canvas.premultipliedPixel(x: 3, y: 0) == (255, 0, 0, 255))
        #expect(canvas.premultipliedPixel(x: 3, y: 1) == (0, 0, 0, 255))
    }

    @Test(arguments: [(0, 1), (1, 0), (-5, 5), (Raster.maxSide + 1, 1)])
    func aBadRasterSizeIsAnErrorNotACrash(width: Int, height: Int) {
        #expect(throws: ImageError.self, "\(width)×\(height)") { try Raster(width: width, height: height) }
    }

    @Test func refusesBadOpacity() throws {
        var canvas = try Raster(width: 1, height: 1)
        for opacity in [-0.1, 1.5, Double.nan] {
            #expect(throws: ImageError(.invalidArgument, "Unable to composite: opacity \(opacity) is outside 0…1")) {
                try canvas.composite(canvas, x: 0, y: 0, opacity: opacity)
            }
        }
    }

    /// A large layer of one colour (a fill) over an opaque canvas is drawn from a table of `blendPixel`'s results
    /// (one per canvas value): it must give the float reference's bytes too, where the canvas is opaque and where
    /// it is not, and where a pixel of the layer is not the fill's colour.
    @Test func aLargeFillMatchesTheFloatReferenceInEveryMode() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        for round in 0..<20 {
            var canvasImage = randomImage(width: 80, height: 70, opaque: true, &generator)
            // A few canvas pixels not opaque (the table is for opaque ones only).
            for _ in 0..<200 {
                let pixel = Int.random(in: 0..<(80 * 70), using: &generator)
                canvasImage.pixels[pixel * 4 + 3] = UInt8.random(in: 0...254, using: &generator)
            }
            var canvas = Raster(canvasImage)
            let alpha = [UInt8(255), 40, UInt8.random(in: 1...254, using: &generator)][round % 3]
            let fill = Color(
                red: .random(in: 0...255, using: &generator),
                green: .random(in: 0...255, using: &generator),
                blue: .random(in: 0...255, using: &generator),
                alpha: alpha
            )
            var layer = try Raster(width: 72, height: 66, color: fill)
            // Two pixels of another colour.
            try layer.composite(try Raster(width: 1, height: 1, color: .white), x: 5, y: 9)
            try layer.composite(try Raster(width: 1, height: 1, color: .white), x: 71, y: 65)
            let mode = BlendMode.allCases[round % BlendMode.allCases.count]
            let opacity = round % 2 == 0 ? 1 : Double.random(in: 0.1...1, using: &generator)
            let (x, y) = (Int.random(in: -2...8, using: &generator), Int.random(in: -2...4, using: &generator))
            #expect((min(80, x + 72) - max(0, x)) * (min(70, y + 66) - max(0, y)) >= 4096, "large enough for the table")
            _ = try Self.compositeMatchesReference(
                &canvas,
                layer,
                x: x,
                y: y,
                mode: mode,
                opacity: opacity,
                mask: nil,
                "seed \(seed), round \(round): \(mode), fill \(fill), opacity \(opacity)"
            )
        }
    }

    @Test func straightAlphaConversionHappensOnceAndIsExactWhenOpaque() throws {
        var generator = SeededGenerator(seed: 12)
        let opaque = randomImage(width: 20, height: 20, opaque: true, &generator)
        #expect(Raster(opaque).rgbaImage == opaque)
        #expect(Raster(opaque).pixels == opaque.pixels, "opaque pixels are their own premultiplied form")
        let half = try RGBAImage(width: 2, height: 1, pixels: [200, 100, 51, 128, 9, 9, 9, 0])
        let raster = Raster(half)
        #expect(raster.pixels == [100, 50, 26, 128, 0, 0, 0, 0])  // round(200·128/255) = 100, …
        #expect(raster.rgbaImage.pixels == [199, 100, 52, 128, 0, 0, 0, 0])  // round(100·255/128) = 199
        // Opaque runs (copied four pixels at a time) between other pixels, and a width that is not a multiple of 4.
        let mixed = Raster(randomImage(width: 37, height: 9, opaque: false, &generator))
        let straight = mixed.rgbaImage.pixels
        for pixel in 0..<(37 * 9) {
            let p = pixel * 4, a = Int(mixed.pixels[p + 3])
            let expected = (0..<3).map { c in
                a == 0 ? 0 : UInt8(min(255, (Int(mixed.pixels[p + c]) * 255 + a / 2) / a))
            }
            #expect(Array(straight[p..<p + 3]) == expected && straight[p + 3] == UInt8(a), "pixel \(pixel)")
        }
    }
}

struct ResizeTests {
    static func gray(_ values: [UInt8], width: Int) -> Raster {
        Raster(
            try! RGBAImage(width: width, height: values.count / width, pixels: values.flatMap { [$0, $0, $0, 255] })
        )
    }
    static func grays(_ raster: Raster) -> [UInt8] {
        stride(from: 0, to: raster.pixels.count, by: 4).map { raster.pixels[$0] }
    }

    @Test func areaAverageByHand() throws {
        // 4 → 2: pairs; 41 + 30 = 71 / 2 = 35.5 → 36 (halves round up).
        #expect(Self.grays(try Self.gray([10, 20, 30, 41], width: 4).downscaled(width: 2, height: 1)) == [15, 36])
        // 3 → 2: each output covers 1.5 source pixels: (2·0 + 90) / 3 = 30, (90 + 2·255) / 3 = 200.
        #expect(Self.grays(try Self.gray([0, 90, 255], width: 3).downscaled(width: 2, height: 1)) == [30, 200])
        // 2×2 → 1×1: the mean, 10+20+30+40 = 100 / 4 = 25.
        #expect(Self.grays(try Self.gray([10, 20, 30, 40], width: 2).downscaled(width: 1, height: 1)) == [25])
        // 5×1 → 3×1: covers 5/3 each: (3·a + 2·b)/5, (1·b + 3·c + 1·d)/5, (2·d + 3·e)/5.
        #expect(
            Self.grays(try Self.gray([0, 50, 100, 150, 200], width: 5).downscaled(width: 3, height: 1)) == [
                20, 100, 180,
            ]
        )
    }

    /// The area average as first written (integers throughout, one 64-bit division per byte): the vectorised
    /// `downscaled` must give its bytes for every size.
    static func referenceDownscaled(_ raster: Raster, width: Int, height: Int) -> [UInt8] {
        let columns = Raster.coverage(source: raster.width, target: width)
        let rows = Raster.coverage(source: raster.height, target: height)
        var horizontal = [UInt64](repeating: 0, count: raster.height * width * 4)
        for y in 0..<raster.height {
            for (output, weights) in columns.enumerated() {
                for channel in 0..<4 {
                    horizontal[(y * width + output) * 4 + channel] = weights.reduce(0) {
                        $0 + UInt64(raster.pixels[y * raster.stride + $1.index * 4 + channel]) * UInt64($1.weight)
                    }
                }
            }
        }
        let total = UInt64(raster.width * raster.height)
        var out = [UInt8](repeating: 0, count: width * height * 4)
        for (outputRow, weights) in rows.enumerated() {
            for column in 0..<(width * 4) {
                let sum = weights.reduce(0) { $0 + horizontal[$1.index * width * 4 + column] * UInt64($1.weight) }
                out[outputRow * width * 4 + column] = UInt8((sum + total / 2) / total)
            }
        }
        return out
    }

    /// The thumbnail's division: a multiply by t's reciprocal and a shift, exact for every sum it can meet.
    @Test func theReciprocalDividesExactly() {
        for t in 1...Raster.reciprocalLimit {
            let reciprocal = Raster.reciprocal(t)
            var wrong = 0
            for n in 0...(256 * t) where (UInt32(n) &* reciprocal) >> 23 != UInt32(n / t) { wrong += 1 }
            #expect(wrong == 0, "t = \(t)")
            #expect(UInt64(256 * t) * UInt64(reciprocal) < 1 << 32, "t = \(t): 32-bit lanes do not overflow")
        }
    }

    @Test func areaAverageMatchesTheIntegerReference() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        for round in 0..<60 {
            let raster = CompositeTests.randomRaster(&generator, maxSide: 40)
            let width = Int.random(in: 1...raster.width, using: &generator)
            let height = Int.random(in: 1...raster.height, using: &generator)
            let small = try raster.downscaled(width: width, height: height)
            #expect(
                small.pixels == Self.referenceDownscaled(raster, width: width, height: height),
                "seed \(seed), round \(round): \(raster.width)×\(raster.height) → \(width)×\(height)"
            )
        }
        // The thumbnail's size, from an opaque picture whose sums are largest.
        let opaque = Raster(randomImage(width: 384, height: 384, opaque: true, &generator))
        #expect(
            try opaque.downscaled(width: 256, height: 256).pixels
                == Self.referenceDownscaled(opaque, width: 256, height: 256),
            "seed \(seed): 384² → 256²"
        )
        // Reductions at and around the 16-bit path's limit (reduced totals 16, 15, 9, 4, 17, 25), white (the
        // largest sums) and random, widths that are not a multiple of 2 pixels.
        let white = Raster(try RGBAImage(width: 60, height: 60, pixels: [UInt8](repeating: 255, count: 60 * 60 * 4)))
        let noise = Raster(randomImage(width: 60, height: 60, opaque: false, &generator))
        for (width, height) in [(15, 15), (12, 20), (40, 40), (30, 30), (20, 15), (12, 12), (25, 35), (7, 9)] {
            for picture in [white, noise] {
                #expect(
                    try picture.downscaled(width: width, height: height).pixels
                        == Self.referenceDownscaled(picture, width: width, height: height),
                    "seed \(seed): 60² → \(width)×\(height)"
                )
            }
        }
    }

    @Test func areaAverageWeighsAlpha() throws {
        // Premultiplied averaging: a transparent pixel does not darken its opaque neighbour's colour.
        let raster = Raster(try RGBAImage(width: 2, height: 1, pixels: [255, 0, 0, 255, 0, 0, 0, 0]))
        let small = try raster.downscaled(width: 1, height: 1)
        #expect(small.premultipliedPixel(x: 0, y: 0) == (128, 0, 0, 128))
        #expect(small.rgbaImage[0, 0] == Color(red: 255, green: 0, blue: 0, alpha: 128))
    }

    @Test func bilinearByHand() throws {
        // 2 → 4: centres at −¼ (clamped), ¼, ¾, 1¼ (clamped) of the way: 0, 50, 150, 200.
        #expect(Self.grays(try Self.gray([0, 200], width: 2).scaled(width: 4, height: 1)) == [0, 50, 150, 200])
        // 4 → 2: centres halfway between pairs: 50, (200 + 255)/2 = 227.5 → 228.
        #expect(Self.grays(try Self.gray([0, 100, 200, 255], width: 4).scaled(width: 2, height: 1)) == [50, 228])
        // 1×2 → 1×3 vertically: centres at −⅙ (clamped), ½, 1⅙ (clamped): 10, 55, 100.
        #expect(Self.grays(try Self.gray([10, 100], width: 1).scaled(width: 1, height: 3)) == [10, 55, 100])
        // Same size is the identity.
        let same = Self.gray([1, 2, 3, 4], width: 2)
        #expect(try same.scaled(width: 2, height: 2) == same)
    }

    @Test func refusesBadSizes() throws {
        let raster = try Raster(width: 4, height: 4)
        #expect(
            throws: ImageError(
                .invalidArgument,
                "Unable to downscale 4×4 to 5×1: the target must be 1…source on each side"
            )
        ) {
            try raster.downscaled(width: 5, height: 1)
        }
        #expect(throws: ImageError(.invalidArgument, "Unable to scale to 0×3: each side must be 1…8192")) {
            try raster.scaled(width: 0, height: 3)
        }
    }
}

struct GradientTests {
    @Test func horizontalByHand() throws {
        let gradient = try LinearGradient(
            start: (0, 0),
            end: (4, 0),
            stops: [.init(offset: 0, color: .black), .init(offset: 1, color: .white)]
        )
        let raster = try Raster(width: 4, height: 2, gradient: gradient)
        // Pixel centres at ⅛, ⅜, ⅝, ⅞ of the way: 255·t = 31.9, 95.6, 159.4, 223.1.
        #expect(ResizeTests.grays(raster) == [32, 96, 159, 223, 32, 96, 159, 223])
    }

    @Test func stopsAndClamping() throws {
        let red = try Color(hex: "#ff0000"), blue = try Color(hex: "#0000ff")
        let gradient = try LinearGradient(
            start: (0, 2),
            end: (0, 6),
            stops: [.init(offset: 0.5, color: blue), .init(offset: 0, color: red)]
        )
        #expect(gradient.stops.map(\.offset) == [0, 0.5], "stops are sorted")
        let raster = try Raster(width: 1, height: 8, gradient: gradient)
        #expect(raster.premultipliedPixel(x: 0, y: 0) == (255, 0, 0, 255), "before the start: the first stop")
        #expect(raster.premultipliedPixel(x: 0, y: 7) == (0, 0, 255, 255), "after the last stop: the last stop")
        #expect(raster.premultipliedPixel(x: 0, y: 2) == (191, 0, 64, 255), "t = ⅛ → a quarter of the way to blue")
    }

    @Test func interpolatesInPremultipliedSpace() throws {
        // From transparent to opaque white: the midpoint is half-transparent white, not grey.
        let gradient = try LinearGradient(
            start: (0, 0),
            end: (2, 0),
            stops: [.init(offset: 0, color: .clear), .init(offset: 1, color: .white)]
        )
        let raster = try Raster(width: 2, height: 1, gradient: gradient)
        #expect(raster.rgbaImage[0, 0] == Color(red: 255, green: 255, blue: 255, alpha: 64))
    }

    @Test func refusesBadStops() {
        #expect(throws: ImageError(.invalidArgument, "Unable to make a gradient without colour stops")) {
            try LinearGradient(start: (0, 0), end: (1, 1), stops: [])
        }
        #expect(throws: ImageError(.invalidArgument, "Unable to make a gradient: stop offset 1.5 is outside 0…1")) {
            try LinearGradient(start: (0, 0), end: (1, 1), stops: [.init(offset: 1.5, color: .white)])
        }
    }
}
