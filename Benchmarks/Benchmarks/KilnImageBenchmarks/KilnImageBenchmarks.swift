// Kiln — Apache-2.0. See LICENSE.
// Compositing and codecs; Benchmarks/compare_pillow.py measures the same work with Pillow side by side.

import Benchmark
import KilnImage

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 2,
        maxDuration: .seconds(5),
        maxIterations: 200
    )

    let side = 1024
    let layers: [Raster] = (0..<6).map { index in
        if index == 0 { return try Raster(width: side, height: side, color: .init(red: 30, green: 30, blue: 60)) }
        var pixels = [UInt8](repeating: 0, count: side * side * 4)
        for offset in stride(from: 0, to: pixels.count, by: 4) {
            let x = (offset / 4) % side, y = (offset / 4) / side
            pixels[offset] = UInt8(truncatingIfNeeded: x &* index)
            pixels[offset + 1] = UInt8(truncatingIfNeeded: y &* 3)
            pixels[offset + 2] = UInt8(truncatingIfNeeded: (x ^ y) >> 2)
            pixels[offset + 3] = UInt8(truncatingIfNeeded: (x + y * index) >> 3)
        }
        return Raster(try! RGBAImage(width: side, height: side, pixels: pixels))
    }
    let modes: [BlendMode] = [.normal, .normal, .screen, .multiply, .overlay, .add]

    Benchmark("Composite 6 layers 1024² + PNG encode") { benchmark in
        for _ in benchmark.scaledIterations {
            var canvas = layers[0]
            for index in 1..<6 { try canvas.composite(layers[index], x: 0, y: 0, mode: modes[index], opacity: 0.9) }
            blackHole(try PNGEncoder().encode(canvas.rgbaImage))
        }
    }

    var canvas = layers[0]
    for index in 1..<6 { try! canvas.composite(layers[index], x: 0, y: 0, mode: modes[index], opacity: 0.9) }
    let png = try! PNGEncoder().encode(canvas.rgbaImage)
    let jpeg = try! JPEGEncoder(quality: 90).encode(canvas)

    Benchmark("PNG decode 1024²") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try PNGDecoder().decode(png)) }
    }
    Benchmark("JPEG decode 1024²") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try JPEGDecoder().decode(jpeg)) }
    }
}
