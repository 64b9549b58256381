import Crypto
import Foundation
@testable import KilnImage
import KilnTesting
import Testing

/// A reference render that touches every part of the engine, pinned by the SHA-256 of its PNG.
///
/// If this digest changes, Kiln's output changed for every user: that is a breaking change to the
/// determinism promise and needs a note in the README, not just a new digest here. Pinned with libpng 1.6.39
/// and zlib 1.2.13 (Debian 12).
struct GoldenRenderTests {
    static let goldenSHA256 = "78a4e704ccded361788d1ae518701b495f8e5b4213dba6837e8e9ebd46cce574"

    static func referenceRender() async throws -> Raster {
        var canvas = try Raster(
            width: 256,
            height: 256,
            gradient: try LinearGradient(
                start: (0, 0),
                end: (256, 256),
                stops: [
                    .init(offset: 0, color: try Color(hex: "#102040")),
                    .init(offset: 1, color: try Color(hex: "#e07020")),
                ]
            )
        )
        var ring = try Raster(width: 160, height: 160)
        for y in 0..<160 {
            for x in 0..<160 {
                let d = (x - 80) * (x - 80) + (y - 80) * (y - 80)
                if d < 80 * 80 {
                    let o = y * ring.stride + x * 4
                    let a = UInt8(255 - d * 255 / 6400)
                    ring.pixels[o] = UInt8((Int(a) * ((x * 3) & 0xFF)) / 255)
                    ring.pixels[o + 1] = UInt8((Int(a) * ((y * 5) & 0xFF)) / 255)
                    ring.pixels[o + 2] = a / 2
                    ring.pixels[o + 3] = a
                }
            }
        }
        for (index, mode) in BlendMode.allCases.enumerated() {
            try canvas.composite(
                ring,
                x: -40 + index * 50,
                y: -20 + index * 40,
                mode: mode,
                opacity: 0.3 + 0.14 * Double(index)
            )
        }
        let mask = Mask(
            try Raster(
                width: 100,
                height: 100,
                gradient: try LinearGradient(
                    start: (0, 0),
                    end: (100, 0),
                    stops: [.init(offset: 0, color: .black), .init(offset: 1, color: .white)]
                )
            ),
            channel: .luminance
        )
        try canvas.composite(
            try Raster(width: 120, height: 80, color: try Color(hex: "#40ff80")),
            x: 130,
            y: 10,
            mask: mask
        )
        try canvas.composite(try ring.scaled(width: 53, height: 71), x: 190, y: 180, mode: .screen)
        try canvas.composite(try ring.downscaled(width: 37, height: 37), x: 10, y: 200, mode: .normal, opacity: 0.8)
        try canvas.draw(text: "LV 7", font: TextTests.font, x: 8, y: 8, color: .white, scale: 3)
        try canvas.draw(
            text: "#1234",
            font: TextTests.font,
            x: 150,
            y: 230,
            color: try Color(hex: "#00000099"),
            scale: 2
        )
        return canvas
    }

    static func sha256(_ bytes: [UInt8]) -> String {
        SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
    }

    @Test func referenceRenderIsByteIdentical() async throws {
        let png = try await PNGEncoder().encode(try Self.referenceRender().rgbaImage)
        // To look at the render when reviewing a change: KILN_GOLDEN_OUT=/tmp swift test --filter Golden
        if let folder = ProcessInfo.processInfo.environment["KILN_GOLDEN_OUT"] {
            try Data(png).write(to: URL(fileURLWithPath: folder + "/reference.png"))
        }
        #expect(Self.sha256(png) == Self.goldenSHA256, "PNG of the reference render changed (\(png.count) bytes)")
    }
}
