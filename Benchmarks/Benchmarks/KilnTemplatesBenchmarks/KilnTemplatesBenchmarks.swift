// Kiln — Apache-2.0. See LICENSE.
// A token's picture as `kiln batch` makes it: templates/forge-knights rendered (11 layers, the inference layer
// from a fixed 160² image), then its 384² PNG and the 256² JPEG thumbnail. Most of `kiln batch`'s own CPU per
// token (README, "Performance targets").

import Benchmark
import KilnBenchmarkSupport
import BigInt
import Foundation
import KilnCore
import KilnImage
import KilnTemplates

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .kiln(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 3,
        maxDuration: .seconds(5),
        maxIterations: 500
    )

    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("templates/forge-knights")
    let template = try! Template.load(folder: folder.path)
    let contract = try! Address(hex: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
    let token = TokenKey(chainId: 31337, contract: contract, id: BigUInt(7))
    var traits = template.initialState
    traits["level"] = .int(12)
    let state = try! template.derive(traits, token: token)
    var pixels = [UInt8](repeating: 255, count: 160 * 160 * 4)
    for i in 0..<(160 * 160) {
        pixels[i * 4] = UInt8(truncatingIfNeeded: (i % 160) * 3)
        pixels[i * 4 + 1] = UInt8(truncatingIfNeeded: (i / 160) * 2)
    }
    let inference = try! RGBAImage(width: 160, height: 160, pixels: pixels)

    Benchmark("Render_forge-knights_384²_(11_layers)") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try Renderer(template: template).render(state: state, token: token, inference: inference))
        }
    }
    Benchmark("Render_forge-knights_+_PNG_+_JPEG_thumbnail_(a_token's_files)") { benchmark in
        for _ in benchmark.scaledIterations {
            let raster = try Renderer(template: template).render(state: state, token: token, inference: inference).raster
            blackHole(try PNGEncoder().encode(raster.rgbaImage))
            blackHole(try JPEGEncoder(quality: 85).encode(try raster.downscaled(width: 256, height: 256)))
        }
    }
}
