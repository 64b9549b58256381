import Crypto
import Foundation
import KilnCore
@testable import KilnImage
import KilnTesting
import Testing

struct PNGCodecTests {
    @Test func decodesEveryColourTypeAndBitDepthAsPillowDoes() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let seed = UInt64.random(in: 0...1_000_000)
        let files = try await PythonBench.run(
            "images.py",
            ["op": "make_pngs", "dir": .string(folder.path), "seed": .number(seed)]
        )["result"]!.items
        #expect(files.count == 45)
        let decoder = PNGDecoder()
        for file in files {
            let path = file["png"]!.stringValue!
            let image = try decoder.decode(try bytes(at: path), source: path)
            #expect(image.width == file["width"]!.int && image.height == file["height"]!.int, "\(path)")
            #expect(image.pixels == (try bytes(at: file["rgba"]!.stringValue!)), "\(path), seed \(seed)")
        }
    }

    @Test func pillowReadsWhatKilnWrites() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let seed = UInt64.random(in: 0...UInt64.max)
        var generator = SeededGenerator(seed: seed)
        var images: [(String, RGBAImage)] = []
        for (index, opaque) in [true, false, true, false].enumerated() {
            let image = randomImage(
                width: Int.random(in: 1...70, using: &generator),
                height: Int.random(in: 1...50, using: &generator),
                opaque: opaque,
                &generator
            )
            for filter in PNGEncoder.Filter.allCases {
                let path = folder.appendingPathComponent("kiln-\(index)-\(filter).png").path
                let encoder = PNGEncoder(
                    level: index * 3,
                    filter: filter,
                    strategy: PNGEncoder.Strategy.allCases[index % 3]
                )
                try Data(try encoder.encode(image)).write(to: URL(fileURLWithPath: path))
                images.append((path, image))
            }
        }
        let answers = try await PythonBench.run(
            "images.py",
            ["op": "decode", "files": .array(images.map { .string($0.0) })]
        )["result"]!.items
        for ((path, image), info) in zip(images, answers) {
            #expect(info["format"] == "PNG")
            #expect(info["mode"]?.stringValue == (image.isOpaque ? "RGB" : "RGBA"), "opaque images are written as RGB")
            #expect(info["chunks"]?.items.isEmpty == true, "no text, time or other ancillary chunks: \(info)")
            #expect(try bytes(at: path + ".pillow.rgba") == image.pixels, "\(path), seed \(seed)")
        }
    }

    @Test func encodingIsDeterministic() async throws {
        var generator = SeededGenerator(seed: 7)
        let image = randomImage(width: 300, height: 200, opaque: false, &generator)
        let encoder = PNGEncoder()
        let first = try encoder.encode(image)
        #expect(try encoder.encode(image) == first)
        #expect(try PNGEncoder().encode(image) == first)
        // Different options give different bytes, and the same pixels back.
        let other = try PNGEncoder(level: 9, filter: .adaptive, strategy: .default).encode(image)
        #expect(other != first)
        #expect(try PNGDecoder().decode(other) == image)
        #expect(try PNGDecoder().decode(first) == image)
    }

    @Test func headerWithoutDecoding() async throws {
        var generator = SeededGenerator(seed: 8)
        let png = try PNGEncoder().encode(randomImage(width: 33, height: 9, opaque: true, &generator))
        let header = try PNGDecoder().header(png)
        #expect(header == PNGDecoder.Header(width: 33, height: 9, bitDepth: 8, colorType: 2, interlaced: false))
    }

    @Test func reportsLibraryVersions() {
        #expect(ImageLibraries.libpng.hasPrefix("1.6."))
        #expect(ImageLibraries.zlib.hasPrefix("1."))
        #expect(ImageLibraries.libjpegTurbo >= 2_000_000)
    }
}

struct JPEGCodecTests {
    @Test func decodesPillowJPEGsAsPillowDoes() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = try await PythonBench.run(
            "images.py",
            ["op": "make_jpegs", "dir": .string(folder.path), "seed": 11]
        )[
            "result"
        ]!.items
        #expect(files.count == 6)
        for file in files {
            let path = file["jpeg"]!.stringValue!
            let image = try JPEGDecoder().decode(try bytes(at: path), source: path)
            let expected = try bytes(at: file["rgba"]!.stringValue!)
            #expect(image.width == 61 && image.height == 47)
            // Both sides run libjpeg-turbo's accurate DCT; Pillow's wheel carries its own newer build.
            let quality = psnr(image.pixels, expected)
            #expect(quality >= 45, "\(path): PSNR \(quality) dB against Pillow")
            #expect(image.isOpaque)
        }
    }

    @Test func pillowReadsWhatKilnWrites() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // A smooth image with a transparent corner, flattened onto white by the encoder.
        var raster = try Raster(
            width: 96,
            height: 64,
            gradient: try LinearGradient(
                start: (0, 0),
                end: (96, 64),
                stops: [
                    .init(offset: 0, color: .init(red: 200, green: 30, blue: 60)),
                    .init(offset: 1, color: .init(red: 20, green: 120, blue: 250)),
                ]
            )
        )
        try raster.composite(try Raster(width: 20, height: 20, color: .clear), x: 0, y: 0)
        var flat = try Raster(width: 96, height: 64, color: .white)
        try flat.composite(raster, x: 0, y: 0)
        var paths: [String] = []
        for quality in [50, 85, 95] {
            let path = folder.appendingPathComponent("kiln-q\(quality).jpg").path
            let jpeg = try JPEGEncoder(quality: quality).encode(raster)
            #expect(try JPEGEncoder(quality: quality).encode(raster) == jpeg, "deterministic")
            try Data(jpeg).write(to: URL(fileURLWithPath: path))
            paths.append(path)
        }
        let answers = try await PythonBench.run(
            "images.py",
            ["op": "decode", "files": .array(paths.map { .string($0) })]
        )[
            "result"
        ]!.items
        for ((path, quality), info) in zip(zip(paths, [50, 85, 95]), answers) {
            #expect(info["format"] == "JPEG" && info["mode"] == "RGB")
            let decoded = try bytes(at: path + ".pillow.rgba")
            let value = psnr(decoded, flat.rgbaImage.pixels)
            #expect(value >= (quality >= 90 ? 40 : 33), "\(path): PSNR \(value) dB")
            #expect(psnr(try JPEGDecoder().decode(try bytes(at: path)).pixels, decoded) >= 45)
        }
    }

    @Test func cmykConversionMatchesPillowFormula() {
        // nk = 255 − K; R = nk − round(C·nk/255).
        var pixels: [UInt8] = [0, 0, 0, 0, 255, 0, 0, 0, 100, 50, 25, 128]
        JPEGDecoder.cmykToRGBA(&pixels, inverted: false)
        #expect(pixels == [255, 255, 255, 255, 0, 255, 255, 255, 77, 102, 115, 255])
        var inverted: [UInt8] = [255, 255, 255, 255]
        JPEGDecoder.cmykToRGBA(&inverted, inverted: true)
        #expect(inverted == [255, 255, 255, 255])
    }
}
