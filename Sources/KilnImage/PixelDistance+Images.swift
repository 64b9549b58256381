// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

extension PixelDistance {
    /// The distance between two RGBA images of the same size; nil when the sizes differ.
    public static func between(_ a: RGBAImage, _ b: RGBAImage) -> PixelDistance? {
        guard a.width == b.width, a.height == b.height else { return nil }
        var maxDiff: Int32 = 0
        var sum: UInt64 = 0
        var differing = 0
        a.pixels.withUnsafeBufferPointer { p in
            b.pixels.withUnsafeBufferPointer { q in
                var index = 0
                while index < p.count {
                    var pixelDiffers = false
                    for c in 0..<4 {
                        let d = Int32(p[index + c]) - Int32(q[index + c])
                        let m = d < 0 ? -d : d
                        if m > maxDiff { maxDiff = m }
                        sum &+= UInt64(d * d)
                        pixelDiffers = pixelDiffers || d != 0
                    }
                    if pixelDiffers { differing += 1 }
                    index += 4
                }
            }
        }
        // At most 4 · 4096² samples of 255² each: the sum stays far below 2⁶⁴.
        return PixelDistance(
            maxChannelDiff: Int(maxDiff),
            sumSquaredDiff: sum,
            samples: UInt64(a.pixels.count),
            differingPixels: differing
        )
    }

    /// The distance between two image files (PNG or JPEG); nil when either does not decode or the sizes differ.
    public static func between(files a: [UInt8], _ b: [UInt8]) -> PixelDistance? {
        guard let first = try? ImageFile.decode(a, source: "an output"),
            let second = try? ImageFile.decode(b, source: "an output")
        else { return nil }
        return between(first, second)
    }
}
