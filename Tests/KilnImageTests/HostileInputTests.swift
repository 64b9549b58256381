import Foundation
import KilnCore
@testable import KilnImage
import KilnTesting
import Testing

/// One test per hostile-input case, each asserting its specific error.
struct HostileInputTests {
    static let good: [UInt8] = {
        var generator = SeededGenerator(seed: 3)
        return try! PNGEncoder(level: 6, filter: .none, strategy: .default).encode(
            randomImage(width: 40, height: 30, opaque: false, &generator)
        )
    }()

    /// The offset of the first chunk of `kind` in a PNG.
    static func chunkOffset(_ png: [UInt8], _ kind: String) -> Int {
        var offset = 8
        while offset + 8 <= png.count {
            let length = png[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
            if String(decoding: png[offset + 4..<offset + 8], as: UTF8.self) == kind { return offset }
            offset += 12 + length
        }
        return -1
    }

    /// A PNG whose IHDR declares `width × height`, with a valid CRC and a tiny IDAT (a "decompression bomb").
    static func bomb(width: UInt32, height: UInt32) -> [UInt8] {
        var png = good
        let ihdr = chunkOffset(png, "IHDR")
        for (index, value) in [width, height].enumerated() {
            for byte in 0..<4 {
                png[ihdr + 8 + index * 4 + byte] = UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt32(byte)))
            }
        }
        let crc = crc32(Array(png[ihdr + 4..<ihdr + 8 + 13]))
        for byte in 0..<4 { png[ihdr + 21 + byte] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(byte))) }
        return png
    }

    static func crc32(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        return ~crc
    }

    @Test func decodesTheUndamagedFile() async throws {
        #expect(try PNGDecoder().decode(Self.good).width == 40)
    }

    @Test func notAPNG() {
        #expect(throws: ImageError(.unknownFormat, "Unable to decode PNG 'x.png': not a PNG file (bad signature)")) {
            try PNGDecoder().decode(Array("GIF89a".utf8), source: "x.png")
        }
        #expect(
            throws: ImageError(
                .unknownFormat,
                "Unable to decode image 'a.bin': neither PNG nor JPEG (by its first bytes)"
            )
        ) {
            try ImageFile.decode([1, 2, 3], source: "a.bin")
        }
    }

    @Test func truncatedInsideImageData() {
        let cut = Array(Self.good.prefix(Self.chunkOffset(Self.good, "IDAT") + 100))
        #expect(throws: ImageError(.corrupt, "Unable to decode PNG 'cut.png': unexpected end of file (truncated)")) {
            try PNGDecoder().decode(cut, source: "cut.png")
        }
    }

    @Test func truncatedBeforeIEND() {
        let cut = Array(Self.good.prefix(Self.chunkOffset(Self.good, "IEND")))
        #expect(throws: ImageError(.corrupt, "Unable to decode PNG 'cut.png': unexpected end of file (truncated)")) {
            try PNGDecoder().decode(cut, source: "cut.png")
        }
    }

    @Test func crcFailureInImageData() {
        // Damage the stored CRC, not the data: libpng inflates IDAT before it can check the CRC, so damaged
        // data is reported by zlib (see corruptCompressedData).
        var png = Self.good
        let idat = Self.chunkOffset(png, "IDAT")
        let length = png[idat..<idat + 4].reduce(0) { $0 << 8 | Int($1) }
        png[idat + 8 + length] ^= 0x01
        #expect(throws: ImageError(.corrupt, "Unable to decode PNG 'crc.png': IDAT: CRC error")) {
            try PNGDecoder().decode(png, source: "crc.png")
        }
    }

    @Test func crcFailureInHeader() {
        var png = Self.good
        png[Self.chunkOffset(png, "IHDR") + 10] ^= 0x01
        #expect(throws: ImageError(.corrupt, "Unable to decode PNG 'crc.png': IHDR: CRC error")) {
            try PNGDecoder().decode(png, source: "crc.png")
        }
    }

    @Test func corruptCompressedData() {
        // Damage the zlib stream but fix the chunk's CRC, so only inflate can notice.
        var png = Self.good
        let idat = Self.chunkOffset(png, "IDAT")
        let length = png[idat..<idat + 4].reduce(0) { $0 << 8 | Int($1) }
        for index in (idat + 12)..<(idat + 40) { png[index] = 0xFF }
        let crc = Self.crc32(Array(png[idat + 4..<idat + 8 + length]))
        for byte in 0..<4 { png[idat + 8 + length + byte] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(byte))) }
        #expect { try PNGDecoder().decode(png, source: "zlib.png") } throws: { error in
            let error = error as! ImageError
            return error.code == .corrupt && error.message.hasPrefix("Unable to decode PNG 'zlib.png': ")
                && error.message.contains("IDAT")
        }
    }

    @Test func decompressionBombIsRefusedFromTheHeader() {
        // 100 000 × 100 000 declared in a file of a few kilobytes: refused before any pixel buffer exists.
        #expect(
            throws: ImageError(
                .tooLarge,
                "Refusing image 'bomb.png': Invalid IHDR data (Image height exceeds user limit in IHDR), limit 8192×8192"
            )
        ) {
            try PNGDecoder().decode(Self.bomb(width: 100_000, height: 100_000), source: "bomb.png")
        }
    }

    @Test func pixelCountLimitApplies() {
        let limits = ImageLimits(maxWidth: 8192, maxHeight: 8192, maxPixels: 1000)
        #expect(throws: ImageError(.tooLarge, "Refusing image 'big.png': 40×30 is more than 1000 pixels")) {
            try PNGDecoder(limits: limits).decode(Self.good, source: "big.png")
        }
        // Within libpng's width/height limits but over 64 Mpx by default: 8192 × 8192 is exactly 64 Mpx, fine;
        // 8192 × 8192 declared in a tiny file then fails as truncated data, not by allocating forever.
        #expect(throws: ImageError.self) { try PNGDecoder().decode(Self.bomb(width: 8192, height: 8192)) }
    }

    @Test func configurableSideLimits() {
        let limits = ImageLimits(maxWidth: 32, maxHeight: 8192, maxPixels: 1 << 20)
        #expect(
            throws: ImageError(
                .tooLarge,
                "Refusing image 'wide.png': Invalid IHDR data (Image width exceeds user limit in IHDR), limit 32×8192"
            )
        ) {
            try PNGDecoder(limits: limits).decode(Self.good, source: "wide.png")
        }
    }

    // MARK: - JPEG

    static let goodJPEG: [UInt8] = try! JPEGEncoder(quality: 80).encode(
        try Raster(
            width: 64,
            height: 48,
            gradient: try! LinearGradient(
                start: (0, 0),
                end: (64, 0),
                stops: [.init(offset: 0, color: .black), .init(offset: 1, color: .white)]
            )
        )
    )

    @Test func notAJPEG() {
        #expect(throws: ImageError(.unknownFormat, "Unable to decode JPEG 'x.jpg': not a JPEG file (no SOI marker)")) {
            try JPEGDecoder().decode(Array("\u{89}PNG".utf8), source: "x.jpg")
        }
    }

    @Test func truncatedJPEG() {
        let cut = Array(Self.goodJPEG.prefix(Self.goodJPEG.count / 2))
        #expect(throws: ImageError(.corrupt, "Unable to decode JPEG 'cut.jpg': Premature end of JPEG file")) {
            try JPEGDecoder().decode(cut, source: "cut.jpg")
        }
    }

    @Test func truncatedJPEGHeader() {
        #expect(throws: ImageError.self) {
            try JPEGDecoder().decode(Array(Self.goodJPEG.prefix(40)), source: "head.jpg")
        }
        #expect { try JPEGDecoder().decode(Array(Self.goodJPEG.prefix(40)), source: "head.jpg") } throws: {
            ($0 as! ImageError).code == .corrupt
        }
    }

    @Test func jpegDeclaringHugeSizeIsRefusedBeforeDecoding() {
        var jpeg = Self.goodJPEG
        // SOF0: FF C0, length (2), precision (1), height (2), width (2).
        let sof = (0..<jpeg.count - 1).first { jpeg[$0] == 0xFF && jpeg[$0 + 1] == 0xC0 }!
        jpeg[sof + 5] = 0xFD
        jpeg[sof + 6] = 0xE8  // height 65000
        jpeg[sof + 7] = 0xFD
        jpeg[sof + 8] = 0xE8  // width 65000
        #expect(throws: ImageError(.tooLarge, "Refusing image 'huge.jpg': 65000×65000 exceeds the limit of 8192×8192"))
        {
            try JPEGDecoder().decode(jpeg, source: "huge.jpg")
        }
    }

    @Test func progressiveScanLimit() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let files = try await PythonBench.run(
            "images.py",
            ["op": "make_jpegs", "dir": .string(folder.path), "seed": 5]
        )[
            "result"
        ]!.items
        let progressive = try bytes(
            at: files.first { $0["jpeg"]!.stringValue!.hasSuffix("RGB-progressive.jpg") }!["jpeg"]!.stringValue!
        )
        #expect(throws: Never.self) { try JPEGDecoder().decode(progressive) }
        var limits = ImageLimits.default
        limits.maxJPEGScans = 3
        #expect(throws: ImageError(.corrupt, "Unable to decode JPEG 'p.jpg': too many scans (more than 3)")) {
            try JPEGDecoder(limits: limits).decode(progressive, source: "p.jpg")
        }
    }

    @Test func unreadableFile() {
        #expect(throws: ImageError(.unreadable, "Unable to read '/nonexistent/a.png': No such file or directory")) {
            try ImageFile.read("/nonexistent/a.png")
        }
    }

    @Test func badArguments() {
        #expect(throws: ImageError(.invalidArgument, "Unable to encode PNG: zlib level 10 is outside 0…9")) {
            try PNGEncoder(level: 10).encode(RGBAImage(width: 1, height: 1, pixels: [0, 0, 0, 0]))
        }
        #expect(throws: ImageError(.invalidArgument, "Unable to encode JPEG: quality 0 is outside 1…100")) {
            try JPEGEncoder(quality: 0).encode(try Raster(width: 1, height: 1))
        }
        #expect(throws: ImageError(.invalidArgument, "Unable to make a 2×2 image from 3 bytes (expected 16)")) {
            try RGBAImage(width: 2, height: 2, pixels: [1, 2, 3])
        }
        #expect(
            throws: ImageError(.invalidArgument, "Unable to parse colour 'red': expected #rgb, #rrggbb or #rrggbbaa")
        ) {
            try Color(hex: "red")
        }
    }
}
