// Kiln — Apache-2.0. See LICENSE.

internal import CKilnShims

/// Decodes JPEG files with libjpeg-turbo: baseline and progressive; gray, YCbCr, RGB, CMYK and YCCK → RGBA.
///
/// EXIF orientation is ignored (pixels come out as stored). Corrupt or truncated data is an error, not a
/// partly grey picture. CMYK is converted as Pillow does: `R = (255 − K) − (C · (255 − K)) / 255` (rounded),
/// after undoing Adobe's inverted storage.
public struct JPEGDecoder: Sendable {
    public var limits: ImageLimits

    public init(limits: ImageLimits = .default) { self.limits = limits }

    /// - Throws: ``ImageError`` — ``ImageError/Code/unknownFormat``, ``ImageError/Code/tooLarge`` or
    ///   ``ImageError/Code/corrupt`` with libjpeg's reason.
    public func decode(_ data: [UInt8], source: String = "<memory>") throws(ImageError) -> RGBAImage {
        try data.withUnsafeBufferPointer { (bytes) throws(ImageError) -> RGBAImage in
            guard
                let decoder = CKilnShims_jpeg_decoder_create(
                    bytes.baseAddress,
                    bytes.count,
                    Int32(clamping: limits.maxJPEGScans)
                )
            else { throw ImageError(.corrupt, "Unable to decode JPEG '\(source)': out of memory") }
            defer { CKilnShims_jpeg_decoder_destroy(decoder) }
            var info = CKilnShims_jpeg_info()
            guard CKilnShims_jpeg_read_info(decoder, &info) == 0 else {
                let message = String(cString: CKilnShims_jpeg_message(decoder))
                let code: ImageError.Code = message.hasPrefix("not a JPEG") ? .unknownFormat : .corrupt
                throw ImageError(code, "Unable to decode JPEG '\(source)': \(message)")
            }
            let width = Int(info.width)
            let height = Int(info.height)
            try limits.check(width: width, height: height, source: source)
            var failed = false
            var pixels = [UInt8](unsafeUninitializedCapacity: width * height * 4) { buffer, count in
                failed = CKilnShims_jpeg_read_pixels(decoder, buffer.baseAddress, width * 4) != 0
                count = failed ? 0 : buffer.count
            }
            if failed {
                throw ImageError(
                    .corrupt,
                    "Unable to decode JPEG '\(source)': \(String(cString: CKilnShims_jpeg_message(decoder)))"
                )
            }
            // JCS_CMYK = 4, JCS_YCCK = 5 in libjpeg's J_COLOR_SPACE.
            if info.color_space == 4 || info.color_space == 5 {
                Self.cmykToRGBA(&pixels, inverted: info.adobe_inverted != 0)
            }
            return RGBAImage(unchecked: width, height, pixels)
        }
    }

    /// Pillow's `cmyk2rgb`: `nk = 255 − K; R = nk − round(C · nk / 255)`, on non-inverted CMYK.
    static func cmykToRGBA(_ pixels: inout [UInt8], inverted: Bool) {
        pixels.withUnsafeMutableBufferPointer { buffer in
            var index = 0
            while index < buffer.count {
                var c = UInt32(buffer[index]), m = UInt32(buffer[index + 1])
                var y = UInt32(buffer[index + 2]), k = UInt32(buffer[index + 3])
                if inverted {
                    c = 255 - c
                    m = 255 - m
                    y = 255 - y
                    k = 255 - k
                }
                let nk = 255 - k
                buffer[index] = UInt8(nk - UInt32(div255(c * nk)))
                buffer[index + 1] = UInt8(nk - UInt32(div255(m * nk)))
                buffer[index + 2] = UInt8(nk - UInt32(div255(y * nk)))
                buffer[index + 3] = 255
                index += 4
            }
        }
    }
}
