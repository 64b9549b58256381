// Kiln — Apache-2.0. See LICENSE.
// Compositing and codecs; Benchmarks/compare_pillow.py measures the same work with Pillow side by side.

import Benchmark
import KilnBenchmarkSupport
import Foundation
import KilnImage

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .kiln(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 2,
        maxDuration: .seconds(5),
        maxIterations: 200
    )

    let side = 1024
    let layers: [Raster] = try! (0..<6).map { index in
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

    Benchmark("Composite_6_layers_1024²_+_PNG_encode") { benchmark in
        for _ in benchmark.scaledIterations {
            var canvas = layers[0]
            for index in 1..<6 { try canvas.composite(layers[index], x: 0, y: 0, mode: modes[index], opacity: 0.9) }
            blackHole(try PNGEncoder().encode(canvas.rgbaImage))
        }
    }

    // The physical bound of the next one: each layer's bytes copied once onto a canvas-sized buffer.
    Benchmark("Composite_6_layers_1024²,_normal,_opacity_0.9") { benchmark in
        for _ in benchmark.scaledIterations {
            var canvas = layers[0]
            for index in 1..<6 { try canvas.composite(layers[index], x: 0, y: 0, opacity: 0.9) }
            blackHole(canvas)
        }
    }
    Benchmark("memcpy_6_×_4_MiB_onto_one_buffer_(the_bound_of_the_composite_above)") { benchmark in
        var target = [UInt8](repeating: 0, count: side * side * 4)
        for _ in benchmark.scaledIterations {
            target.withUnsafeMutableBytes { target in
                for layer in layers {
                    layer.pixels.withUnsafeBytes { _ = memcpy(target.baseAddress!, $0.baseAddress!, $0.count) }
                }
            }
            blackHole(target)
        }
    }

    // A token's picture as `kiln batch` publishes it: 384² PNG, and the 256² JPEG thumbnail (area average).
    var picture = layers[0]
    for index in 1..<6 { try! picture.composite(layers[index], x: 0, y: 0, mode: modes[index], opacity: 0.9) }
    let token = try! picture.downscaled(width: 384, height: 384)
    Benchmark("PNG_encode_384²_(a_token's_image)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try PNGEncoder().encode(token.rgbaImage)) }
    }
    Benchmark("Thumbnail_384²_→_256²_(area_average)_+_JPEG_encode") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try JPEGEncoder(quality: 85).encode(try token.downscaled(width: 256, height: 256)))
        }
    }
    Benchmark("Area_average_384²_→_256²") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try token.downscaled(width: 256, height: 256)) }
    }

    var canvas = layers[0]
    for index in 1..<6 { try! canvas.composite(layers[index], x: 0, y: 0, mode: modes[index], opacity: 0.9) }
    let png = try! PNGEncoder().encode(canvas.rgbaImage)
    let jpeg = try! JPEGEncoder(quality: 90).encode(canvas)

    Benchmark("PNG_decode_1024²") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try PNGDecoder().decode(png)) }
    }
    Benchmark("JPEG_decode_1024²") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try JPEGDecoder().decode(jpeg)) }
    }
}
