import Foundation
import KilnTesting
import Testing

@testable import KilnImage

/// Kiln chooses each row's filter ahead of libpng (``PNGRowFilters``) by libpng's own rule: the files must be
/// exactly those of libpng's adaptive choice, for every kind of content — noise (one filter far ahead), flat
/// areas and repeated rows (equal sums: the first of none, sub, up, average, Paeth wins), gradients, stripes.
struct PNGRowFilterTests {
    /// Pixels of `width`×`height` from `value(x, y, channel)`; alpha 255 when `opaque`.
    static func image(
        _ width: Int,
        _ height: Int,
        opaque: Bool,
        _ value: (Int, Int, Int) -> Int
    ) throws -> RGBAImage {
        var pixels = [UInt8](repeating: 0, count: width * height * 4)
        for y in 0..<height {
            for x in 0..<width {
                for channel in 0..<4 {
                    pixels[(y * width + x) * 4 + channel] =
                        channel == 3 && opaque ? 255 : UInt8(truncatingIfNeeded: value(x, y, channel))
                }
            }
        }
        return try RGBAImage(width: width, height: height, pixels: pixels)
    }

    /// Kiln's filtered rows, deflated as libpng does, against libpng's own adaptive encode: the same file.
    static func expectLibpngBytes(_ image: RGBAImage, _ label: String, encoder: PNGEncoder = PNGEncoder()) throws {
        var libpng = encoder
        libpng.choosesRowFilters = false
        let kiln = try encoder.encode(image)
        #expect(
            kiln == (try libpng.encode(image)),
            "\(label): \(image.width)×\(image.height), level \(encoder.level), \(encoder.strategy)"
        )
        #expect(try PNGDecoder().decode(kiln).pixels == image.pixels)
    }

    @Test func theSameBytesAsLibpngsOwnChoice() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        for round in 0..<60 {
            let width = Int.random(in: 1...90, using: &generator)
            let height = Int.random(in: 1...40, using: &generator)
            let opaque = round % 2 == 0
            let label = "seed \(seed), round \(round)"
            try Self.expectLibpngBytes(randomImage(width: width, height: height, opaque: opaque, &generator), label)
            // Any level and strategy (level 0 stores: its blocks follow how the input was handed to zlib).
            try Self.expectLibpngBytes(
                randomImage(width: width, height: height, opaque: opaque, &generator),
                label + " (any level)",
                encoder: PNGEncoder(
                    level: Int.random(in: 0...9, using: &generator),
                    strategy: PNGEncoder.Strategy.allCases.randomElement(using: &generator)!
                )
            )
            // Few distinct values: many equal sums.
            let levels = Int.random(in: 1...4, using: &generator)
            let noise = generator.bytes(width * height * 4)
            try Self.expectLibpngBytes(
                Self.image(width, height, opaque: opaque) { x, y, c in Int(noise[(y * width + x) * 4 + c]) % levels * 60
                },
                label + " (few levels)"
            )
            let (dx, dy) = (Int.random(in: 0...9, using: &generator), Int.random(in: 0...9, using: &generator))
            try Self.expectLibpngBytes(
                Self.image(width, height, opaque: opaque) { x, y, c in x * dx + y * dy + c * 40 },
                label + " (gradient \(dx), \(dy))"
            )
            try Self.expectLibpngBytes(
                Self.image(width, height, opaque: opaque) { x, y, c in (x / 3 + y / 2) % 2 * 200 + c },
                label + " (stripes)"
            )
        }
        for opaque in [true, false] {
            try Self.expectLibpngBytes(Self.image(17, 9, opaque: opaque) { _, _, _ in 0 }, "black")
            try Self.expectLibpngBytes(Self.image(17, 9, opaque: opaque) { _, _, c in 128 + c }, "flat 128")
            try Self.expectLibpngBytes(Self.image(33, 7, opaque: opaque) { x, _, _ in x % 2 * 255 }, "columns")
        }
    }

    /// Encoding in strips of any heights gives the bytes of encoding the whole image (libpng's own choice too).
    @Test func stripsGiveTheBytesOfTheWholeImage() throws {
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        for round in 0..<40 {
            let width = Int.random(in: 1...70, using: &generator)
            let height = Int.random(in: 1...50, using: &generator)
            let opaque = round % 2 == 0
            let image =
                round % 3 == 0
                ? try Self.image(width, height, opaque: opaque) { x, y, c in (x / 3 + y / 2) % 2 * 200 + c }
                : randomImage(width: width, height: height, opaque: opaque, &generator)
            let encoder = try PNGStripEncoder(width: width, height: height, opaque: opaque)
            // Every other round drains what is encoded so far after some strips (a file written as it goes).
            var drained: [UInt8] = []
            var row = 0
            while row < height {
                let rows = Swift.min(height - row, Int.random(in: 1...9, using: &generator))
                try encoder.write(
                    try RGBAImage(
                        width: width,
                        height: rows,
                        pixels: Array(image.pixels[row * width * 4..<(row + rows) * width * 4])
                    )
                )
                row += rows
                if round % 2 == 1, Bool.random(using: &generator) { encoder.drain { drained += $0 } }
            }
            #expect(
                drained + (try encoder.finish()) == (try PNGEncoder().encode(image)),
                "seed \(seed), round \(round)"
            )
        }
    }

    /// The zlib stream's checksum split across two IDAT chunks (the last chunk holding 1, 2 or 3 of its bytes) is
    /// split where libpng splits it. Stored (level 0), a file's length depends on the image's size only; these sizes
    /// were found by a search.
    @Test func aChecksumAcrossTwoChunks() throws {
        var generator = SeededGenerator(seed: 1951)
        var libpng = PNGEncoder(level: 0)
        libpng.choosesRowFilters = false
        for (width, height, last) in [(47, 173, 1), (60, 362, 2), (41, 66, 3)] {
            let image = randomImage(width: width, height: height, opaque: true, &generator)
            let file = try libpng.encode(image)
            // The chunks' lengths, after the 8-byte signature; the last IDAT's is before IEND's.
            var lengths: [Int] = [], offset = 8
            while offset + 8 <= file.count {
                lengths.append(file[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) })
                offset += 12 + lengths.last!
            }
            #expect(lengths.suffix(2) == [last, 0], "\(width)×\(height)")
            #expect(try PNGEncoder(level: 0).encode(image) == file, "\(width)×\(height): \(last) bytes")
        }
    }

    /// A raster encodes as its straight RGBA image does: an opaque one from its own buffer, others converted.
    @Test func aRasterEncodesAsItsImage() throws {
        var generator = SeededGenerator(seed: 11)
        for opaque in [true, false] {
            let raster = Raster(randomImage(width: 37, height: 23, opaque: opaque, &generator))
            #expect(raster.isOpaque == opaque)
            let png = try PNGEncoder().encode(raster)
            #expect(png == (try PNGEncoder().encode(raster.rgbaImage)), "opaque \(opaque)")
            #expect(try PNGDecoder().decode(png).pixels == raster.rgbaImage.pixels)
        }
    }

    @Test func aStripEncoderRefusesWhatDoesNotFit() throws {
        let strip = try Self.image(4, 3, opaque: true) { x, _, _ in x * 40 }
        let encoder = try PNGStripEncoder(width: 4, height: 5, opaque: true)
        try encoder.write(strip)
        #expect(throws: ImageError.self) { try encoder.write(strip) }  // 6 rows of 5
        #expect(throws: ImageError.self) { try encoder.finish() }  // 3 rows of 5
        let rgb = try PNGStripEncoder(width: 4, height: 3, opaque: true)
        #expect(throws: ImageError.self) { try rgb.write(try Self.image(4, 3, opaque: false) { _, _, _ in 9 }) }
        #expect(throws: ImageError.self) { try rgb.write(try Self.image(5, 1, opaque: true) { _, _, _ in 9 }) }
    }

    /// A token-sized image with large flat areas, noise and soft edges, as renders have.
    @Test func aTokenSizedRender() throws {
        var generator = SeededGenerator(seed: 42)
        let noise = generator.bytes(384 * 384 * 4)
        for opaque in [true, false] {
            let image = try Self.image(384, 384, opaque: opaque) { x, y, c in
                let inside = (x - 192) * (x - 192) + (y - 192) * (y - 192) < 120 * 120
                return inside ? Int(noise[(y * 384 + x) * 4 + c]) : (x + y) / 3 + c * 20
            }
            try Self.expectLibpngBytes(image, "384², opaque \(opaque)")
            // Data of several IDAT chunks with a zlib stream that is not RLE's; stored blocks across chunks.
            try Self.expectLibpngBytes(
                image,
                "384², opaque \(opaque)",
                encoder: PNGEncoder(level: 9, strategy: .default)
            )
            try Self.expectLibpngBytes(image, "384², opaque \(opaque)", encoder: PNGEncoder(level: 0))
        }
        // Between 16384 bytes of data (a smaller zlib window below) and libpng's 32768-byte row limit.
        for (width, height, opaque) in [(41, 132, true), (43, 127, true), (8191, 2, false), (8192, 2, false)] {
            let image = randomImage(width: width, height: height, opaque: opaque, &generator)
            try Self.expectLibpngBytes(image, "edges")
        }
    }

    /// The SIMD sums against a scalar reading of libpng's loops, over row lengths with and without a tail.
    @Test func theSumsAreLibpngsSums() {
        var generator = SeededGenerator(seed: 7)
        // Bytes at the ends and the middle of the range: equal distances, sums past 255, wrap-around.
        let extremes: [UInt8] = [0, 1, 2, 126, 127, 128, 129, 130, 253, 254, 255]
        func bytes(_ count: Int, extreme: Bool) -> [UInt8] {
            extreme ? (0..<count).map { _ in extremes.randomElement(using: &generator)! } : generator.bytes(count)
        }
        for count in [1, 3, 15, 16, 17, 48, 100, 1536, 4099] {
            for (bpp, extreme) in [(3, false), (4, false), (3, true), (4, true)] {
                let row = [UInt8](repeating: 0, count: bpp) + bytes(count, extreme: extreme)
                let above = [UInt8](repeating: 0, count: bpp) + bytes(count, extreme: extreme)
                var expected = [Int](repeating: 0, count: 5)
                var filteredRows = [UInt8](repeating: 0, count: 4 * count)
                for i in 0..<count {
                    let x = Int(row[bpp + i]), a = Int(row[i]), b = Int(above[bpp + i]), c = Int(above[i])
                    let p = a + b - c
                    let (pa, pb, pc) = (abs(p - a), abs(p - b), abs(p - c))
                    let paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c
                    for (filter, predicted) in [0, a, b, (a + b) / 2, paeth].enumerated() {
                        let v = (x - predicted) & 0xFF
                        expected[filter] += v < 128 ? v : 256 - v
                        if filter > 0 { filteredRows[(filter - 1) * count + i] = UInt8(v) }
                    }
                }
                var candidates = [UInt8](repeating: 0, count: 4 * count)
                #expect(
                    PNGRowFilters.sums(row, above, bpp: bpp, count: count, candidates: &candidates)
                        == SIMD8(expected + [0, 0, 0]),
                    "\(count) bytes, bpp \(bpp)"
                )
                #expect(candidates == filteredRows, "\(count) bytes, bpp \(bpp): filtered bytes")
            }
        }
    }
}
