import Foundation
@testable import KilnImage
import KilnTesting
import Testing

struct TextTests {
    static let font: BitmapFont = {
        let path = PythonBench.packageRoot.appendingPathComponent("assets/fonts/6x13.bdf").path
        return try! BitmapFont(bdf: String(decoding: try! bytes(at: path), as: UTF8.self), source: "6x13.bdf")
    }()

    /// The canvas as ASCII art: `#` where text was drawn.
    static func art(_ raster: Raster) -> [String] {
        (0..<raster.height).map { y in
            String((0..<raster.width).map { x in raster.premultipliedPixel(x: x, y: y).0 > 0 ? "#" : "." })
        }
    }

    @Test func readsTheShippedFont() {
        #expect(Self.font.glyphs.count == 95)
        #expect(Self.font.ascent == 11 && Self.font.descent == 2)
        #expect(Self.font.measure("LV 7") == (24, 13))
        #expect(Self.font.measure("#1234", scale: 3) == (90, 39))
    }

    @Test func drawsGlyphsPixelForPixel() throws {
        var canvas = try Raster(width: 13, height: 11, color: .black)
        try canvas.draw(text: "L7", font: Self.font, x: 1, y: -2, color: .white)
        // The font's own bitmaps for 'L' and '7' (rows 2…12 of 13): 'L' in columns 1…6, '7' in 7…12.
        #expect(
            Self.art(canvas) == [
                ".#.....#####.",
                ".#.........#.",
                ".#........#..",
                ".#........#..",
                ".#.......#...",
                ".#.......#...",
                ".#......#....",
                ".#......#....",
                ".#####..#....",
                ".............",
                ".............",
            ]
        )
        #expect(canvas.premultipliedPixel(x: 1, y: 0) == (255, 255, 255, 255))
    }

    @Test func scalesEachPixelToASquare() throws {
        var canvas = try Raster(width: 12, height: 6, color: .black)
        try canvas.draw(text: "L", font: Self.font, x: 0, y: -4, color: .white, scale: 2)
        #expect(
            Self.art(canvas) == [
                "##..........", "##..........", "##..........", "##..........", "##..........", "##..........",
            ]
        )
    }

    @Test func coloursBlendAndClipAtEdges() throws {
        var canvas = try Raster(width: 3, height: 3, color: .black)
        try canvas.draw(text: "L", font: Self.font, x: -1, y: -2, color: try Color(hex: "#ff000080"))
        // Only the glyph's column 0 falls left of the canvas; nothing lands, no crash.
        #expect(try canvas == Raster(width: 3, height: 3, color: .black))
        try canvas.draw(text: "L", font: Self.font, x: 0, y: -2, color: try Color(hex: "#ff000080"))
        #expect(canvas.premultipliedPixel(x: 0, y: 0) == (128, 0, 0, 255), "half-transparent red over black")
        try canvas.draw(text: "7", font: Self.font, x: 100, y: 100, color: .white)  // far outside: nothing
    }

    @Test func unknownCharactersUseTheFallbackGlyph() throws {
        var unknown = try Raster(width: 6, height: 13, color: .black)
        var question = unknown
        try unknown.draw(text: "€", font: Self.font, x: 0, y: 0, color: .white)
        try question.draw(text: "?", font: Self.font, x: 0, y: 0, color: .white)
        #expect(unknown == question)
    }

    @Test(
        arguments: [
            ("STARTFONT 2.1\nENDFONT\n", "Unable to read font 'bad.bdf' at line 3: no glyphs"),
            (
                "STARTCHAR A\nENCODING 65\nDWIDTH 6 0\nBITMAP\n",
                "Unable to read font 'bad.bdf' at line 4: BITMAP before BBX"
            ),
            (
                "STARTCHAR A\nENCODING 65\nBBX 6 2 0 0\nBITMAP\nFF\nENDCHAR\n",
                "Unable to read font 'bad.bdf' at line 6: expected 2 bitmap rows, found 1"
            ),
            (
                "STARTCHAR A\nENCODING 65\nBBX 6 1 0 0\nBITMAP\nZZ\nENDCHAR\n",
                "Unable to read font 'bad.bdf' at line 5: bad bitmap row 'ZZ'"
            ),
            ("STARTCHAR A\nENCODING 65\nBBX 6 x 0 0\n", "Unable to read font 'bad.bdf' at line 3: expected 4 integers"),
            (
                "STARTCHAR A\nENCODING 65\nBBX 6 1 0 0\nBITMAP\n80\n",
                "Unable to read font 'bad.bdf' at line 6: file ends inside a glyph bitmap"
            ),
        ] as [(String, String)]
    )
    func malformedFontsSayWhere(_ text: String, _ message: String) {
        #expect(throws: ImageError(.font, message)) { try BitmapFont(bdf: text, source: "bad.bdf") }
    }

    @Test func badScale() throws {
        var canvas = try Raster(width: 1, height: 1)
        #expect(throws: ImageError(.invalidArgument, "Unable to draw text: scale 0 is outside 1…64")) {
            try canvas.draw(text: "x", font: Self.font, x: 0, y: 0, color: .white, scale: 0)
        }
    }
}
