// Kiln — Apache-2.0. See LICENSE.

internal import CKilnShims

/// ``PNGEncoder`` fed a strip of rows at a time, so that a large picture (a batch's contact sheet) is never whole in
/// memory: the same libpng settings and row-filter choice, so the same bytes as encoding the whole image at once
/// (`PNGRowFilterTests` compares them).
public final class PNGStripEncoder {
    public let width: Int
    public let height: Int
    /// 3 (RGB: each strip must be opaque) or 4 (RGBA).
    public let channels: Int
    let settings: PNGEncoder
    private var stream: OpaquePointer?
    private var written = 0
    /// The last row written (RGBA), for choosing the next strip's first row filter.
    private var lastRow: [UInt8]?

    /// Starts a `width`×`height` PNG (`opaque`: RGB, else RGBA) with `settings`' level, filters and strategy.
    public init(width: Int, height: Int, opaque: Bool, settings: PNGEncoder = PNGEncoder()) throws(ImageError) {
        guard width > 0, height > 0, width <= Int(UInt32.max), height <= Int(UInt32.max) else {
            throw ImageError(.invalidArgument, "Unable to encode PNG: image is empty or too large (\(width)×\(height))")
        }
        guard (0...9).contains(settings.level) else {
            throw ImageError(.invalidArgument, "Unable to encode PNG: zlib level \(settings.level) is outside 0…9")
        }
        self.width = width
        self.height = height
        self.channels = opaque ? 3 : 4
        self.settings = settings
        var message = [CChar](repeating: 0, count: Int(CKILNSHIMS_MESSAGE_SIZE))
        stream = CKilnShims_png_stream_create(
            UInt32(width),
            UInt32(height),
            Int32(channels),
            Int32(settings.level),
            settings.filter.mask,
            settings.strategy.value,
            &message
        )
        guard stream != nil else {
            let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw ImageError(.encodeFailed, "Unable to encode PNG: \(reason)")
        }
    }

    deinit { CKilnShims_png_stream_destroy(stream) }

    /// Writes the next rows: `strip` must be as wide as the image, and opaque for an RGB image.
    public func write(_ strip: RGBAImage) throws(ImageError) {
        guard strip.width == width, strip.height <= height - written else {
            throw ImageError(
                .invalidArgument,
                "Unable to encode PNG: a \(strip.width)×\(strip.height) strip does not fit rows \(written)… of \(width)×\(height)"
            )
        }
        guard channels == 4 || strip.isOpaque else {
            throw ImageError(.invalidArgument, "Unable to encode PNG: a strip of an RGB image has transparent pixels")
        }
        // The one filter per row libpng would choose, chosen here (PNGEncoder's `.adaptive` path): a 1-pixel-wide
        // image keeps libpng's own choice, as PNGEncoder does.
        let filters: [UInt8]? =
            settings.filter == .adaptive && width > 1 && height > 1
            ? PNGRowFilters.choose(strip, channels: channels, above: lastRow) : nil
        let status = strip.pixels.withUnsafeBufferPointer { pixels in
            CKilnShims_png_stream_rows(stream, pixels.baseAddress, UInt32(strip.height), width * 4, filters)
        }
        guard status == 0 else { throw failure() }
        written += strip.height
        if strip.height > 0 { lastRow = Array(strip.pixels[(strip.height - 1) * width * 4..<strip.height * width * 4]) }
    }

    /// Hands the bytes encoded since the last drain to `sink` and forgets them: a caller writing the file as it
    /// goes holds one strip's worth of output, not the file. What ``finish()`` returns is what is left.
    public func drain<Failure: Error>(into sink: (UnsafeRawBufferPointer) throws(Failure) -> Void) throws(Failure) {
        var data: UnsafePointer<UInt8>?
        var size = 0
        CKilnShims_png_stream_pending(stream, &data, &size)
        guard let data, size > 0 else { return }
        try sink(UnsafeRawBufferPointer(start: data, count: size))
        CKilnShims_png_stream_drained(stream)
    }

    /// The PNG file's bytes once every row is written (those not handed out by ``drain(into:)``).
    public func finish() throws(ImageError) -> [UInt8] {
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        guard CKilnShims_png_stream_finish(stream, &out, &size) == 0, let out else { throw failure() }
        defer { CKilnShims_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }

    private func failure() -> ImageError {
        ImageError(.encodeFailed, "Unable to encode PNG: \(String(cString: CKilnShims_png_stream_message(stream)))")
    }
}
