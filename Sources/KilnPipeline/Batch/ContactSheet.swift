// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
internal import KilnContent
public import KilnImage

/// `batch-<n>-sheet.png`: a grid of a batch's thumbnails, each labelled with its token id, so an operator can
/// see a batch at a glance. Drawn and encoded one row of cells at a time (``encode(_:total:)``): the 4088×6149
/// picture of a 1 200-token sheet is never whole in memory.
public enum ContactSheet {
    /// The side of one cell's picture, and the most tokens drawn (the sheet says how many more there were).
    public static let cell = 128
    /// The most thumbnails one sheet shows; more are counted in its footer.
    public static let maxTokens = 1_200
    static let background = Color(red: 0x14, green: 0x10, blue: 0x1c)
    static let font = BitmapFont.fixed6x13
    static let pad = 8

    /// Where things go on a sheet of `shown` thumbnails of `total` tokens.
    struct Layout {
        let shown: Int
        let total: Int
        /// The layout of `count` tokens' sheet (at most ``ContactSheet/maxTokens`` shown) in a batch of `total`
        /// (at least `count`; nil: `count`).
        init(_ count: Int, total: Int?) {
            shown = min(count, maxTokens)
            self.total = max(total ?? count, count)
        }

        var columns: Int { max(1, min(30, Int(Double(shown).squareRoot().rounded(.up)))) }
        var rows: Int { max(1, (shown + columns - 1) / columns) }
        var label: Int { ContactSheet.font.lineHeight + 4 }
        var rowHeight: Int { cell + label + pad }
        var footer: Int { total > shown ? ContactSheet.font.lineHeight + 8 : 0 }
        var width: Int { pad + columns * (cell + pad) }
        var height: Int { pad + rows * rowHeight + footer }

        /// The sheet's strips: the top padding with the first row of cells, each further row of cells, and the
        /// footer; as (first pixel row, height).
        var strips: [(top: Int, height: Int)] {
            var strips = [(top: 0, height: pad + rowHeight)]
            for row in 1..<rows { strips.append((pad + row * rowHeight, rowHeight)) }
            if footer > 0 { strips.append((pad + rows * rowHeight, footer)) }
            return strips
        }
    }

    /// Draws and encodes the sheet (PNG) of `items` (label, thumbnail JPEG/PNG bytes) in order, at most
    /// ``maxTokens`` of them; `total` (default: how many items there are) is how many tokens the batch has, so a
    /// caller need read only the thumbnails shown. The bytes are those of encoding ``render(_:total:)`` whole.
    public static func encode(_ items: [(label: String, thumbnail: [UInt8])], total: Int? = nil) throws -> [UInt8] {
        let layout = Layout(items.count, total: total)
        let encoder = try strips(of: layout) { items[$0] }
        return try encoder.finish()
    }

    /// ``encode(_:total:)`` written to `writer` as it is drawn, each thumbnail read by `item` (its index, 0 to
    /// `shown - 1`) when its row is drawn: what is held is one row of cells and its encoded bytes, not the
    /// thumbnails of the sheet and its PNG file (67 MB of a 1 200-token sheet).
    public static func write(
        shown: Int,
        total: Int,
        item: (Int) throws -> (label: String, thumbnail: [UInt8]),
        to writer: AtomicFile.Writer
    ) throws {
        let layout = Layout(shown, total: total)
        let encoder = try strips(of: layout, item: item) { encoder in
            try encoder.drain { (bytes) throws(AtomicFile.WriteError) in try writer.write(bytes) }
        }
        try writer.write(try encoder.finish())
    }

    /// The sheet's strips drawn and fed to a new encoder, `after` called after each.
    static func strips(
        of layout: Layout,
        item: (Int) throws -> (label: String, thumbnail: [UInt8]),
        after: (PNGStripEncoder) throws -> Void = { _ in }
    ) throws -> PNGStripEncoder {
        // Every strip is opaque (thumbnails are drawn over the opaque background): an RGB file.
        let encoder = try PNGStripEncoder(width: layout.width, height: layout.height, opaque: true)
        for index in layout.strips.indices {
            try encoder.write(try draw(strip: index, of: layout, item).rgbaImage)
            try after(encoder)
        }
        return encoder
    }

    /// The whole sheet as one raster (its strips, one under the other).
    public static func render(_ items: [(label: String, thumbnail: [UInt8])], total: Int? = nil) throws -> Raster {
        let layout = Layout(items.count, total: total)
        var sheet = try Raster(width: layout.width, height: layout.height, color: background)
        for (index, strip) in layout.strips.enumerated() {
            try sheet.composite(try draw(strip: index, of: layout) { items[$0] }, x: 0, y: strip.top)
        }
        return sheet
    }

    /// One strip: a row of cells (the first with the padding above it), or the footer.
    static func draw(
        strip index: Int,
        of layout: Layout,
        _ item: (Int) throws -> (label: String, thumbnail: [UInt8])
    ) throws -> Raster {
        let (top, height) = layout.strips[index]
        var strip = try Raster(width: layout.width, height: height, color: background)
        guard index < layout.rows else {
            try strip.draw(
                text: "+\(layout.total - layout.shown) more tokens in this batch",
                font: font,
                x: pad,
                y: 2,
                color: .white
            )
            return strip
        }
        let first = index * layout.columns
        for position in first..<min(first + layout.columns, layout.shown) {
            let item = try item(position)
            let x = pad + (position % layout.columns) * (cell + pad)
            let y = pad + index * layout.rowHeight - top
            let picture = Raster(try ImageFile.decode(item.thumbnail, source: "thumbnail of \(item.label)"))
            let scale = Double(cell) / Double(max(picture.width, picture.height))
            let width = max(1, Int((Double(picture.width) * scale).rounded())),
                height = max(1, Int((Double(picture.height) * scale).rounded()))
            let fitted =
                scale < 1
                ? try picture.downscaled(width: width, height: height)
                : try picture.scaled(width: width, height: height)
            try strip.composite(fitted, x: x + (cell - width) / 2, y: y + (cell - height) / 2)
            let text = String(item.label.prefix(cell / 6))
            try strip.draw(
                text: text,
                font: font,
                x: x + (cell - font.measure(text).width) / 2,
                y: y + cell + 2,
                color: Color(red: 0xff, green: 0xe9, blue: 0xb0)
            )
        }
        return strip
    }
}
