// Kiln — Apache-2.0. See LICENSE.

/// A rectangle of pixels: its top-left corner and its size (empty when either side is 0).
public struct PixelRect: Hashable, Sendable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = width
        self.height = height
    }

    public var isEmpty: Bool { width <= 0 || height <= 0 }
}

extension Raster {
    /// The smallest rectangle holding every pixel that is not fully transparent (empty when none is).
    ///
    /// A fully transparent source pixel changes nothing in any blend mode (``composite(_:x:y:mode:opacity:mask:drawn:)``
    /// returns before touching the canvas), so a layer drawn many times — a template's asset, most of it
    /// transparent — is composited over this rectangle only: the same bytes, without reading the rest.
    public func drawnBounds() -> PixelRect {
        var (minX, minY, maxX, maxY) = (width, height, -1, -1)
        pixels.withUnsafeBytes { bytes in
            let base = bytes.baseAddress!
            for row in 0..<height {
                let start = row * stride
                // The first and the last pixel of the row with a nonzero alpha, if any.
                var first = -1
                for column in 0..<width where base.load(fromByteOffset: start + column * 4 + 3, as: UInt8.self) != 0 {
                    first = column
                    break
                }
                guard first >= 0 else { continue }
                var last = first
                for column in Swift.stride(from: width - 1, to: first, by: -1)
                where base.load(fromByteOffset: start + column * 4 + 3, as: UInt8.self) != 0 {
                    last = column
                    break
                }
                minX = min(minX, first)
                maxX = max(maxX, last)
                minY = min(minY, row)
                maxY = row
            }
        }
        guard maxY >= 0 else { return PixelRect(x: 0, y: 0, width: 0, height: 0) }
        return PixelRect(x: minX, y: minY, width: maxX - minX + 1, height: maxY - minY + 1)
    }
}
