// Kiln — Apache-2.0. See LICENSE.

internal import CKilnShims

/// Decodes PNG files with libpng: every colour type and bit depth, palette with tRNS, interlaced → 8-bit RGBA.
///
/// 16-bit samples keep their high byte (as Pillow does for RGB and RGBA); gamma and colour profiles are
/// ignored. The header is checked against ``ImageLimits`` before the pixel buffer is allocated.
public struct PNGDecoder: Sendable {
    public var limits: ImageLimits

    public init(limits: ImageLimits = .default) { self.limits = limits }

    /// The PNG header fields, read without decoding the pixels.
    public struct Header: Hashable, Sendable {
        public var width: Int
        public var height: Int
        public var bitDepth: Int
        /// PNG colour type: 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA.
        public var colorType: Int
        public var interlaced: Bool
    }

    /// Decodes `data`. `source` names the file in errors.
    /// - Throws: ``ImageError`` — ``ImageError/Code/unknownFormat`` (not a PNG), ``ImageError/Code/tooLarge``,
    ///   ``ImageError/Code/corrupt`` (truncated, bad CRC, bad zlib data) with libpng's reason.
    public func decode(_ data: [UInt8], source: String = "<memory>") throws(ImageError) -> RGBAImage {
        try data.withUnsafeBufferPointer { (bytes) throws(ImageError) -> RGBAImage in
            let decoder = try open(bytes, source: source)
            defer { CKilnShims_png_decoder_destroy(decoder) }
            let header = try readHeader(decoder, source: source)
            try limits.check(width: header.width, height: header.height, source: source)
            var failed = false
            let pixels = [UInt8](unsafeUninitializedCapacity: header.width * header.height * 4) { buffer, count in
                failed = CKilnShims_png_read_rgba8(decoder, buffer.baseAddress, header.width * 4) != 0
                count = failed ? 0 : buffer.count
            }
            if failed { throw corrupt(decoder, source) }
            return RGBAImage(unchecked: header.width, header.height, pixels)
        }
    }

    /// Reads only the header (signature, IHDR and chunks before the first IDAT).
    public func header(_ data: [UInt8], source: String = "<memory>") throws(ImageError) -> Header {
        try data.withUnsafeBufferPointer { (bytes) throws(ImageError) -> Header in
            let decoder = try open(bytes, source: source)
            defer { CKilnShims_png_decoder_destroy(decoder) }
            return try readHeader(decoder, source: source)
        }
    }

    private func open(_ bytes: UnsafeBufferPointer<UInt8>, source: String) throws(ImageError) -> OpaquePointer {
        // libpng itself also refuses dimensions above the limits while it reads IHDR.
        guard
            let decoder = CKilnShims_png_decoder_create(
                bytes.baseAddress,
                bytes.count,
                UInt32(clamping: limits.maxWidth),
                UInt32(clamping: limits.maxHeight)
            )
        else { throw ImageError(.corrupt, "Unable to decode PNG '\(source)': out of memory") }
        return decoder
    }

    private func readHeader(_ decoder: OpaquePointer, source: String) throws(ImageError) -> Header {
        var info = CKilnShims_png_info()
        guard CKilnShims_png_read_info(decoder, &info) == 0 else {
            let message = String(cString: CKilnShims_png_message(decoder))
            if message.hasPrefix("not a PNG") {
                throw ImageError(.unknownFormat, "Unable to decode PNG '\(source)': \(message)")
            }
            if message.contains("exceeds user limit") {
                throw ImageError(
                    .tooLarge,
                    "Refusing image '\(source)': \(message), limit \(limits.maxWidth)×\(limits.maxHeight)"
                )
            }
            throw corrupt(decoder, source)
        }
        return Header(
            width: Int(info.width),
            height: Int(info.height),
            bitDepth: Int(info.bit_depth),
            colorType: Int(info.color_type),
            interlaced: info.interlaced != 0
        )
    }

    private func corrupt(_ decoder: OpaquePointer, _ source: String) -> ImageError {
        ImageError(.corrupt, "Unable to decode PNG '\(source)': \(String(cString: CKilnShims_png_message(decoder)))")
    }
}
