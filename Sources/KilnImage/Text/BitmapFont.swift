// Kiln — Apache-2.0. See LICENSE.

/// A one-bit bitmap font read from a BDF 2.1 file (see `assets/fonts/README.md`).
public struct BitmapFont: Hashable, Sendable {
    /// One glyph: its advance, its bounding box relative to the pen on the baseline, and rows of bits.
    public struct Glyph: Hashable, Sendable {
        public var advance: Int
        public var width: Int
        public var height: Int
        public var xOffset: Int
        public var yOffset: Int
        /// `height` rows, top first; bit `31 - column` of a row is the pixel at `column` (left-aligned).
        public var rows: [UInt32]
    }

    public let name: String
    /// Pixels above the baseline.
    public let ascent: Int
    /// Pixels below the baseline.
    public let descent: Int
    public let glyphs: [UInt32: Glyph]
    /// Drawn for characters the font lacks.
    public let fallback: Glyph?

    /// The line height, `ascent + descent`.
    public var lineHeight: Int { ascent + descent }

    /// Parses BDF text. `source` names the file in errors (`6x13.bdf:120: …`).
    /// - Throws: ``ImageError/Code/font`` with the line number and what is wrong.
    public init(bdf text: String, source: String = "<font>") throws(ImageError) {
        var name = source
        var ascent: Int?
        var descent: Int?
        var boundingBox: (Int, Int, Int, Int)?
        var defaultChar: UInt32?
        var glyphs: [UInt32: Glyph] = [:]
        var current: (encoding: Int, advance: Int, box: (Int, Int, Int, Int)?)?
        var bitmap: [UInt32]?
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        func fail(_ number: Int, _ message: String) -> ImageError {
            ImageError(.font, "Unable to read font '\(source)' at line \(number): \(message)")
        }
        func integers(_ fields: ArraySlice<Substring>, count: Int, _ number: Int) throws(ImageError) -> [Int] {
            let values = fields.compactMap { Int($0) }
            guard values.count == count, fields.count == count else { throw fail(number, "expected \(count) integers") }
            return values
        }
        for (index, rawLine) in lines.enumerated() {
            let number = index + 1
            let line = String(rawLine.drop(while: \.isWhitespace).reversed().drop(while: \.isWhitespace).reversed())
            let fields = line.split(separator: " ")
            guard let keyword = fields.first else { continue }
            if var rows = bitmap {
                if keyword == "ENDCHAR" {
                    guard let glyph = current, let box = glyph.box else { throw fail(number, "ENDCHAR without BBX") }
                    guard rows.count == box.1 else {
                        throw fail(number, "expected \(box.1) bitmap rows, found \(rows.count)")
                    }
                    guard box.0 <= 32 else { throw fail(number, "glyphs wider than 32 pixels are not supported") }
                    if glyph.encoding >= 0 {
                        glyphs[UInt32(glyph.encoding)] = Glyph(
                            advance: glyph.advance,
                            width: box.0,
                            height: box.1,
                            xOffset: box.2,
                            yOffset: box.3,
                            rows: rows
                        )
                    }
                    bitmap = nil
                    current = nil
                    continue
                }
                guard line.count <= 8, let value = UInt32(line, radix: 16) else {
                    throw fail(number, "bad bitmap row '\(line)'")
                }
                rows.append(value << (32 - 4 * UInt32(line.count)))
                bitmap = rows
                continue
            }
            switch keyword {
            case "FONT": name = fields.dropFirst().joined(separator: " ")
            case "FONTBOUNDINGBOX":
                let v = try integers(fields.dropFirst(), count: 4, number)
                boundingBox = (v[0], v[1], v[2], v[3])
            case "FONT_ASCENT": ascent = try integers(fields.dropFirst(), count: 1, number)[0]
            case "FONT_DESCENT": descent = try integers(fields.dropFirst(), count: 1, number)[0]
            case "DEFAULT_CHAR": defaultChar = UInt32(try integers(fields.dropFirst(), count: 1, number)[0])
            case "STARTCHAR": current = (encoding: -1, advance: 0, box: nil)
            case "ENCODING":
                guard current != nil else { throw fail(number, "ENCODING outside a glyph") }
                current?.encoding = try integers(fields.dropFirst().prefix(1), count: 1, number)[0]
            case "DWIDTH":
                guard current != nil else { throw fail(number, "DWIDTH outside a glyph") }
                current?.advance = try integers(fields.dropFirst(), count: 2, number)[0]
            case "BBX":
                guard current != nil else { throw fail(number, "BBX outside a glyph") }
                let v = try integers(fields.dropFirst(), count: 4, number)
                guard v[0] >= 0, v[1] >= 0 else { throw fail(number, "negative glyph size") }
                current?.box = (v[0], v[1], v[2], v[3])
            case "BITMAP":
                guard current?.box != nil else { throw fail(number, "BITMAP before BBX") }
                bitmap = []
            default: continue
            }
        }
        guard bitmap == nil else { throw fail(lines.count, "file ends inside a glyph bitmap") }
        guard !glyphs.isEmpty else { throw fail(lines.count, "no glyphs") }
        guard let ascent = ascent ?? boundingBox.map({ $0.1 + $0.3 }),
            let descent = descent ?? boundingBox.map({ -$0.3 })
        else {
            throw fail(lines.count, "no FONT_ASCENT/FONT_DESCENT or FONTBOUNDINGBOX")
        }
        self.name = name
        self.ascent = ascent
        self.descent = descent
        self.glyphs = glyphs
        self.fallback = defaultChar.flatMap { glyphs[$0] } ?? glyphs[UInt32(UInt8(ascii: "?"))]
    }

    /// The glyph drawn for `scalar`: its own, else the font's default character, else `?`.
    public func glyph(for scalar: Unicode.Scalar) -> Glyph? { glyphs[scalar.value] ?? fallback }

    /// The size of `text` set on one line at `scale`: the sum of advances × the line height.
    public func measure(_ text: String, scale: Int = 1) -> (width: Int, height: Int) {
        let advance = text.unicodeScalars.reduce(0) { $0 + (glyph(for: $1)?.advance ?? 0) }
        return (advance * scale, lineHeight * scale)
    }
}

extension Raster {
    /// Draws `text` on one line with its top-left corner at `(x, y)`, in `color`, each font pixel a
    /// `scale × scale` square (source-over). Characters the font lacks are drawn as its fallback glyph.
    /// - Throws: ``ImageError/Code/invalidArgument`` for a scale outside 1…64.
    public mutating func draw(text: String, font: BitmapFont, x: Int, y: Int, color: Color, scale: Int = 1)
        throws(ImageError)
    {
        guard (1...64).contains(scale) else {
            throw ImageError(.invalidArgument, "Unable to draw text: scale \(scale) is outside 1…64")
        }
        let (r, g, b, a) = color.premultiplied
        let source = [r, g, b, a]
        let baseline = y + font.ascent * scale
        var pen = x
        let (width, height, stride) = (self.width, self.height, self.stride)
        pixels.withUnsafeMutableBufferPointer { canvas in
            source.withUnsafeBufferPointer { pixel in
                for scalar in text.unicodeScalars {
                    guard let glyph = font.glyph(for: scalar) else { continue }
                    let top = baseline - (glyph.yOffset + glyph.height) * scale
                    for (row, bits) in glyph.rows.enumerated() where bits != 0 {
                        for column in 0..<glyph.width where bits & (UInt32(1) << (31 - UInt32(column))) != 0 {
                            let left = pen + (glyph.xOffset + column) * scale
                            let upper = top + row * scale
                            for py in Swift.stride(from: max(0, upper), to: min(height, upper + scale), by: 1) {
                                for px in Swift.stride(from: max(0, left), to: min(width, left + scale), by: 1) {
                                    Self.blendPixel(canvas, py * stride + px * 4, pixel, 0, 255, .normal)
                                }
                            }
                        }
                    }
                    pen += glyph.advance * scale
                }
            }
        }
    }
}
