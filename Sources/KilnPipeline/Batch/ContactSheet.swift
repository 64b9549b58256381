// Kiln — Apache-2.0. See LICENSE.

internal import KilnContent
public import KilnImage

/// `batch-<n>-sheet.png`: a grid of a batch's thumbnails, each labelled with its token id, so an operator can
/// see a batch at a glance.
public enum ContactSheet {
    /// The side of one cell's picture, and the most tokens drawn (the sheet says how many more there were).
    public static let cell = 128
    /// The most thumbnails one sheet shows; more are counted in its footer.
    public static let maxTokens = 1_200

    /// Draws `items` (label, thumbnail JPEG/PNG bytes) in order, at most ``maxTokens`` of them; `total` (default:
    /// how many items there are) is how many tokens the batch has, so a caller need read only the thumbnails shown.
    public static func render(_ items: [(label: String, thumbnail: [UInt8])], total: Int? = nil) throws -> Raster {
        let shown = items.prefix(maxTokens)
        let total = max(total ?? items.count, items.count)
        let columns = max(1, min(30, Int(Double(shown.count).squareRoot().rounded(.up))))
        let rows = max(1, (shown.count + columns - 1) / columns)
        let font = BitmapFont.fixed6x13
        let pad = 8, label = font.lineHeight + 4
        let footer = total > shown.count ? font.lineHeight + 8 : 0
        var sheet = try Raster(
            width: pad + columns * (cell + pad),
            height: pad + rows * (cell + label + pad) + footer,
            color: Color(red: 0x14, green: 0x10, blue: 0x1c)
        )
        for (index, item) in shown.enumerated() {
            let x = pad + (index % columns) * (cell + pad), y = pad + (index / columns) * (cell + label + pad)
            let picture = Raster(try ImageFile.decode(item.thumbnail, source: "thumbnail of \(item.label)"))
            let scale = Double(cell) / Double(max(picture.width, picture.height))
            let width = max(1, Int((Double(picture.width) * scale).rounded())),
                height = max(1, Int((Double(picture.height) * scale).rounded()))
            let fitted =
                scale < 1
                ? try picture.downscaled(width: width, height: height)
                : try picture.scaled(width: width, height: height)
            try sheet.composite(fitted, x: x + (cell - width) / 2, y: y + (cell - height) / 2)
            let text = String(item.label.prefix(cell / 6))
            try sheet.draw(
                text: text,
                font: font,
                x: x + (cell - font.measure(text).width) / 2,
                y: y + cell + 2,
                color: Color(red: 0xff, green: 0xe9, blue: 0xb0)
            )
        }
        if footer > 0 {
            try sheet.draw(
                text: "+\(total - shown.count) more tokens in this batch",
                font: font,
                x: pad,
                y: sheet.height - footer + 2,
                color: .white
            )
        }
        return sheet
    }
}
