// Kiln — Apache-2.0. See LICENSE.

/// Pixels as files hold them: 8-bit RGBA with straight (not premultiplied) alpha, rows of `width × 4` bytes.
///
/// This is the type at the edges: decoders produce it and encoders consume it. Compositing happens on
/// ``Raster``, which is premultiplied; ``Raster/init(_:)`` and ``Raster/rgbaImage`` convert exactly once.
public struct RGBAImage: Hashable, Sendable {
    public let width: Int
    public let height: Int
    /// `height` rows of `width × 4` bytes: R, G, B, A.
    public var pixels: [UInt8]

    /// An image from straight RGBA bytes.
    /// - Throws: ``ImageError/Code/invalidArgument`` when `pixels` is not `width × height × 4` bytes.
    public init(width: Int, height: Int, pixels: [UInt8]) throws(ImageError) {
        guard width >= 0, height >= 0, pixels.count == width * height * 4 else {
            throw ImageError(
                .invalidArgument,
                "Unable to make a \(width)×\(height) image from \(pixels.count) bytes (expected \(max(0, width * height * 4)))"
            )
        }
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    init(unchecked width: Int, _ height: Int, _ pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// Whether every pixel has alpha 255 (then encoders may drop the alpha channel).
    public var isOpaque: Bool {
        pixels.withUnsafeBufferPointer { buffer in
            var index = 3
            while index < buffer.count {
                if buffer[index] != 255 { return false }
                index += 4
            }
            return true
        }
    }

    /// The straight RGBA of pixel `(x, y)`.
    public subscript(x: Int, y: Int) -> Color {
        let offset = (y * width + x) * 4
        return Color(
            red: pixels[offset],
            green: pixels[offset + 1],
            blue: pixels[offset + 2],
            alpha: pixels[offset + 3]
        )
    }
}
