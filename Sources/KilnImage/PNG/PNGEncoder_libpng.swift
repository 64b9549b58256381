// Kiln — Apache-2.0. See LICENSE.

internal import CKilnShims

/// Encodes PNG files with libpng, deterministically.
///
/// The same pixels and options always give the same bytes with the same libpng and zlib (Debian 12:
/// libpng 1.6.39, zlib 1.2.13): no `tIME`, text or other ancillary chunks, a fixed filter and zlib
/// level. Opaque images are written as RGB, others as RGBA, 8 bits per sample, not interlaced.
public struct PNGEncoder: Hashable, Sendable {
    /// The row filter libpng applies before deflate.
    public enum Filter: String, CaseIterable, Hashable, Sendable {
        case none, sub, up, average, paeth
        /// libpng's adaptive choice among all five per row (deterministic; slower).
        case adaptive

        var mask: Int32 {
            switch self {
            case .none: 0x08
            case .sub: 0x10
            case .up: 0x20
            case .average: 0x40
            case .paeth: 0x80
            case .adaptive: 0xF8
            }
        }
    }

    /// The zlib strategy.
    public enum Strategy: String, CaseIterable, Hashable, Sendable {
        /// zlib's default (`Z_DEFAULT_STRATEGY`).
        case `default`
        /// `Z_FILTERED`: tuned for filtered image data.
        case filtered
        /// `Z_RLE`: run-length matches only; much faster, often nearly as small on filtered rows.
        case rle

        var value: Int32 {
            switch self {
            case .default: 0
            case .filtered: 1
            case .rle: 3
            }
        }
    }

    /// zlib level 0…9.
    public var level: Int
    public var filter: Filter
    public var strategy: Strategy

    /// The defaults were measured on a six-layer 1024² render (docs/explanation/imaging.md): adaptive filtering with
    /// zlib's RLE strategy was both smaller (−3 %) and 5× faster than adaptive + level 6 with the default
    /// strategy (what Pillow does). With `rle` the level does not change the output.
    public init(level: Int = 6, filter: Filter = .adaptive, strategy: Strategy = .rle) {
        self.level = level
        self.filter = filter
        self.strategy = strategy
    }

    /// Whether Kiln chooses and applies each row's filter for `.adaptive` (``PNGRowFilters``: libpng's rule, the same
    /// bytes; libpng then writes the chunks of the rows Kiln filtered and deflated as libpng does) rather than libpng
    /// itself (five filters per row, a byte at a time). Tests compare the two files.
    var choosesRowFilters = true

    /// Encodes `raster` as ``encode(_:)`` encodes its ``Raster/rgbaImage``. An opaque raster's premultiplied pixels
    /// are their straight values, so its buffer is encoded as it is (no converted copy, no second opacity scan).
    public func encode(_ raster: Raster) throws(ImageError) -> [UInt8] {
        // A pixel's alpha is the same in both forms: the opacity found here holds for the converted image too.
        let opaque = raster.isOpaque
        guard opaque, raster.width > 0, raster.height > 0 else {
            return try encode(raster.rgbaImage, opaque: opaque)
        }
        return try encode(RGBAImage(width: raster.width, height: raster.height, pixels: raster.pixels), opaque: true)
    }

    /// Encodes `image`; RGB when every pixel is opaque.
    /// - Throws: ``ImageError/Code/invalidArgument`` for a level outside 0…9 or an empty image,
    ///   ``ImageError/Code/encodeFailed`` with libpng's reason.
    public func encode(_ image: RGBAImage) throws(ImageError) -> [UInt8] {
        try encode(image, opaque: image.isOpaque)
    }

    /// Encodes `image`, RGB when `opaque` (every alpha 255, already known).
    func encode(_ image: RGBAImage, opaque: Bool) throws(ImageError) -> [UInt8] {
        guard (0...9).contains(level) else {
            throw ImageError(.invalidArgument, "Unable to encode PNG: zlib level \(level) is outside 0…9")
        }
        guard image.width > 0, image.height > 0 else {
            throw ImageError(.invalidArgument, "Unable to encode PNG: image is empty (\(image.width)×\(image.height))")
        }
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: Int(CKILNSHIMS_MESSAGE_SIZE))
        let channels = opaque ? 3 : 4
        // libpng itself drops the filters that need a row above or a pixel to the left from a 1-pixel-high or
        // -wide image; those are written as libpng chooses.
        let status =
            filter == .adaptive && choosesRowFilters && image.width > 1 && image.height > 1
            ? PNGRowFilters.filtered(image, channels: channels).withUnsafeBufferPointer { rows in
                CKilnShims_png_encode_filtered(
                    rows.baseAddress,
                    UInt32(image.width),
                    UInt32(image.height),
                    Int32(channels),
                    Int32(level),
                    strategy.value,
                    Adler32.checksum(UnsafeRawBufferPointer(rows)),
                    &out,
                    &size,
                    &message
                )
            }
            : image.pixels.withUnsafeBufferPointer { pixels in
                CKilnShims_png_encode(
                    pixels.baseAddress,
                    UInt32(image.width),
                    UInt32(image.height),
                    image.width * 4,
                    Int32(channels),
                    Int32(level),
                    filter.mask,
                    strategy.value,
                    &out,
                    &size,
                    &message
                )
            }
        guard status == 0, let out else {
            let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw ImageError(.encodeFailed, "Unable to encode PNG: \(reason)")
        }
        defer { CKilnShims_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }
}

/// Versions of the C libraries whose behaviour decides Kiln's bytes.
public enum ImageLibraries {
    /// libpng's version, e.g. `1.6.39`.
    public static var libpng: String { String(cString: CKilnShims_png_version()) }
    /// zlib's version, e.g. `1.2.13`.
    public static var zlib: String { String(cString: CKilnShims_zlib_version()) }
    /// libjpeg-turbo's version number, e.g. `2001005` for 2.1.5.
    public static var libjpegTurbo: Int { Int(CKilnShims_jpeg_lib_version()) }
}
