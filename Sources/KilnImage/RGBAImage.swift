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
    public var isOpaque: Bool { pixels.withUnsafeBytes(allAlphasOpaque) }

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

/// Whether every 4th byte (the alpha of RGBA pixels, straight or premultiplied) of `pixels` is 255: the pixels
/// ANDed together two at a time (a loop the compiler vectorises), then their alpha bytes read.
func allAlphasOpaque(_ pixels: UnsafeRawBufferPointer) -> Bool {
    let pairs = pixels.count / 8
    var all: UInt64 = .max
    for pair in 0..<pairs { all &= pixels.loadUnaligned(fromByteOffset: pair * 8, as: UInt64.self) }
    // The alpha bytes of both pixels of a pair, in memory order (bytes 3 and 7).
    let alphas = UInt64(littleEndian: 0xFF00_0000_FF00_0000)
    guard all & alphas == alphas else { return false }
    var index = pairs * 8 + 3
    while index < pixels.count {
        if pixels[index] != 255 { return false }
        index += 4
    }
    return true
}
