// Kiln — Apache-2.0. See LICENSE.

/// An RGBA8 canvas with premultiplied alpha: what Kiln composites, fills, scales and draws text on.
///
/// Rows are `stride` bytes apart (`stride == width × 4`); each pixel is `(r·a, g·a, b·a, a)` rounded, so that
/// compositing needs no division. A value type: copies share storage until one of them is written.
///
/// ```swift
/// var canvas = try Raster(width: 512, height: 512, color: try Color(hex: "#202030"))
/// try canvas.composite(layer, at: (x: 64, y: 64), mode: .screen, opacity: 0.8)
/// let png = try PNGEncoder().encode(canvas)
/// ```
public struct Raster: Hashable, Sendable {
    public let width: Int
    public let height: Int
    /// Bytes per row.
    public var stride: Int { width * 4 }
    /// Premultiplied RGBA, `height × stride` bytes.
    public internal(set) var pixels: [UInt8]

    /// The largest side a raster may have.
    public static let maxSide = 8192

    /// A raster filled with `color` (default transparent).
    /// - Throws: ``ImageError`` (`invalidArgument`) when a side is outside 1…``maxSide``.
    public init(width: Int, height: Int, color: Color = .clear) throws(ImageError) {
        guard width > 0 && height > 0 && width <= Self.maxSide && height <= Self.maxSide else {
            throw ImageError(
                .invalidArgument,
                "Unable to make a raster of \(width)×\(height): each side must be 1…\(Self.maxSide)"
            )
        }
        self.init(checkedWidth: width, height: height, color: color)
    }

    /// A raster filled with `color`, of a size the caller has checked.
    init(checkedWidth width: Int, height: Int, color: Color = .clear) {
        self.width = width
        self.height = height
        let (r, g, b, a) = color.premultiplied
        if r == 0 && g == 0 && b == 0 && a == 0 {
            pixels = [UInt8](repeating: 0, count: width * height * 4)
        } else {
            pixels = [UInt8](unsafeUninitializedCapacity: width * height * 4) { buffer, count in
                var index = 0
                while index < buffer.count {
                    buffer[index] = r
                    buffer[index + 1] = g
                    buffer[index + 2] = b
                    buffer[index + 3] = a
                    index += 4
                }
                count = buffer.count
            }
        }
    }

    /// A raster of premultiplied pixels the caller has checked (`width × height × 4` bytes, `c ≤ a`).
    init(width: Int, height: Int, premultiplied pixels: [UInt8]) {
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    /// A raster from a validated straight image: premultiplies each pixel once, `c' = round(c · a / 255)`.
    public init(_ image: RGBAImage) {
        var pixels = image.pixels
        pixels.withUnsafeMutableBufferPointer { buffer in
            var index = 0
            while index < buffer.count {
                let a = UInt32(buffer[index + 3])
                if a != 255 {
                    buffer[index] = div255(UInt32(buffer[index]) * a)
                    buffer[index + 1] = div255(UInt32(buffer[index + 1]) * a)
                    buffer[index + 2] = div255(UInt32(buffer[index + 2]) * a)
                }
                index += 4
            }
        }
        self.init(width: image.width, height: image.height, premultiplied: pixels)
    }

    /// The straight image for encoders: `c = round(c' · 255 / a)` (0 where `a` is 0), once.
    public var rgbaImage: RGBAImage {
        // Read and converted in one pass into a new buffer (a copy of the pixels converted in place was two); an
        // opaque pixel is copied whole.
        let out = [UInt8](unsafeUninitializedCapacity: pixels.count) { out, count in
            pixels.withUnsafeBytes { buffer in
                let from = buffer.baseAddress!
                let to = UnsafeMutableRawPointer(out.baseAddress!)
                var index = 0
                while index < buffer.count {
                    #if _endian(little)
                        // Four opaque pixels (each alpha, the high byte, 255) are copied as they are, at once.
                        if index + 16 <= buffer.count {
                            let four = from.loadUnaligned(fromByteOffset: index, as: SIMD4<UInt32>.self)
                            if all(four .>= 0xFF00_0000) {
                                to.storeBytes(of: four, toByteOffset: index, as: SIMD4<UInt32>.self)
                                index += 16
                                continue
                            }
                        }
                    #endif
                    let pixel = from.loadUnaligned(fromByteOffset: index, as: UInt32.self)
                    let a = pixel.littleEndian >> 24
                    if a == 255 {
                        to.storeBytes(of: pixel, toByteOffset: index, as: UInt32.self)
                    } else if a == 0 {
                        to.storeBytes(of: 0, toByteOffset: index, as: UInt32.self)
                    } else {
                        let half = a / 2
                        for channel in 0..<3 {
                            let c = UInt32(buffer[index + channel])
                            to.storeBytes(
                                of: UInt8(min(255, (c * 255 + half) / a)),
                                toByteOffset: index + channel,
                                as: UInt8.self
                            )
                        }
                        to.storeBytes(of: UInt8(a), toByteOffset: index + 3, as: UInt8.self)
                    }
                    index += 4
                }
            }
            count = pixels.count
        }
        return RGBAImage(unchecked: width, height, out)
    }

    /// Whether every pixel has alpha 255.
    public var isOpaque: Bool { pixels.withUnsafeBytes(allAlphasOpaque) }

    /// The premultiplied pixel at `(x, y)`: `(r, g, b, a)`.
    public func premultipliedPixel(x: Int, y: Int) -> (UInt8, UInt8, UInt8, UInt8) {
        let offset = y * stride + x * 4
        return (pixels[offset], pixels[offset + 1], pixels[offset + 2], pixels[offset + 3])
    }
}
