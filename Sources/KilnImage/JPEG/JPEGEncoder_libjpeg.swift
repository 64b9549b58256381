// Kiln — Apache-2.0. See LICENSE.

internal import CKilnShims

/// Encodes JPEG files (thumbnails) with libjpeg-turbo: baseline JFIF, optimized Huffman tables, the accurate
/// integer DCT, 4:2:0 chroma below quality 90 and 4:4:4 from 90. Deterministic for a given libjpeg-turbo.
public struct JPEGEncoder: Hashable, Sendable {
    /// 1…100.
    public var quality: Int
    /// What transparent pixels are flattened onto (JPEG has no alpha).
    public var background: Color

    public init(quality: Int = 85, background: Color = .white) {
        self.quality = quality
        self.background = background
    }

    /// Encodes `raster`, flattened onto ``background``.
    /// - Throws: ``ImageError/Code/invalidArgument`` for a quality outside 1…100.
    public func encode(_ raster: Raster) throws(ImageError) -> [UInt8] {
        guard (1...100).contains(quality) else {
            throw ImageError(.invalidArgument, "Unable to encode JPEG: quality \(quality) is outside 1…100")
        }
        // An opaque raster is what flattening it would give (each opaque pixel replaces the background's).
        var flat = raster
        if !raster.isOpaque {
            flat = Raster(
                checkedWidth: raster.width,
                height: raster.height,
                color: Color(red: background.red, green: background.green, blue: background.blue)
            )
            try flat.composite(raster, x: 0, y: 0)
        }
        var out: UnsafeMutablePointer<UInt8>?
        var size = 0
        var message = [CChar](repeating: 0, count: Int(CKILNSHIMS_MESSAGE_SIZE))
        // Opaque premultiplied pixels equal their straight values: pass them as RGBX.
        let status = flat.pixels.withUnsafeBufferPointer { pixels in
            CKilnShims_jpeg_encode(
                pixels.baseAddress,
                UInt32(flat.width),
                UInt32(flat.height),
                flat.stride,
                Int32(quality),
                &out,
                &size,
                &message
            )
        }
        guard status == 0, let out else {
            let reason = message.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            throw ImageError(.encodeFailed, "Unable to encode JPEG: \(reason)")
        }
        defer { CKilnShims_free(out) }
        return Array(UnsafeBufferPointer(start: out, count: size))
    }
}
