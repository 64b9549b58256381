// Kiln — Apache-2.0. See LICENSE.
// The benchmark scene: six 1024×1024 layers with alpha, made deterministically (no files needed).

import KilnImage

enum Scene {
    static let side = 1024

    /// Layer 0 is an opaque gradient; layers 1…5 are patterns and shapes with partial alpha.
    static func layers() throws -> [Raster] {
        var layers: [Raster] = []
        layers.append(try Raster(width: side, height: side, gradient: try LinearGradient(
            start: (0, 0), end: (side, side),
            stops: [.init(offset: 0, color: try Color(hex: "#1b1f3a")), .init(offset: 0.6, color: try Color(hex: "#5b2a86")),
                    .init(offset: 1, color: try Color(hex: "#f0a202"))])))
        for index in 1...5 {
            var pixels = [UInt8](repeating: 0, count: side * side * 4)
            let cx = side / 2 + (index - 3) * 120, cy = side / 2 + (index % 2 == 0 ? -90 : 110)
            let radius = 180 + index * 40
            for y in 0..<side {
                for x in 0..<side {
                    let dx = x - cx, dy = y - cy
                    let d2 = dx * dx + dy * dy
                    let o = (y * side + x) * 4
                    // Rings and stripes: smooth, compressible, like generated art rather than noise.
                    let ring = (d2 / (64 * index)) & 0xFF
                    let stripe = ((x * index + y * (6 - index)) >> 3) & 0xFF
                    pixels[o] = UInt8(truncatingIfNeeded: ring &* 3 &+ index &* 40)
                    pixels[o + 1] = UInt8(truncatingIfNeeded: stripe)
                    pixels[o + 2] = UInt8(truncatingIfNeeded: (ring ^ stripe) &+ 60)
                    pixels[o + 3] = d2 < radius * radius ? UInt8(truncatingIfNeeded: 255 - (d2 * 200) / (radius * radius)) : 0
                }
            }
            layers.append(Raster(try RGBAImage(width: side, height: side, pixels: pixels)))
        }
        return layers
    }

    static let modes: [BlendMode] = [.normal, .normal, .screen, .multiply, .overlay, .add]

    /// Composites the layers in order (layer 0 as the base, opacity 0.9 for the rest).
    static func composite(_ layers: [Raster], modes: [BlendMode]? = nil) throws -> Raster {
        var canvas = layers[0]
        for index in 1..<layers.count {
            try canvas.composite(layers[index], x: 0, y: 0, mode: (modes ?? Self.modes)[index], opacity: 0.9)
        }
        return canvas
    }
}
