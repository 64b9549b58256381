// Kiln — Apache-2.0. See LICENSE.
// Kiln's side of Benchmarks/compare_pillow.py: writes the scene's layers for Pillow, then times the same work.
//   KilnImageCompare OUT_DIR [--sweep]
// Prints one JSON object; with --sweep, PNG sizes and times for each filter/strategy/level (choosing defaults).

import Foundation
import KilnImage

func seconds(_ body: () throws -> Void) rethrows -> Double {
    let clock = ContinuousClock()
    let start = clock.now
    try body()
    let elapsed = clock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// Best of `runs` timings (the least disturbed by the other core's work).
func best(_ runs: Int, _ body: () throws -> Void) rethrows -> Double {
    var result = Double.infinity
    for _ in 0..<runs { result = min(result, try seconds(body)) }
    return result
}

let arguments = CommandLine.arguments
// `swift package benchmark` starts every executable of this package with `--input-fd …`: not a folder; nothing to do.
if arguments.count >= 2 && arguments[1].hasPrefix("--input-fd") { exit(0) }
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: KilnImageCompare OUT_DIR [--sweep]\n".utf8))
    exit(64)
}
let folder = URL(fileURLWithPath: arguments[1])
try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
let layers = try Scene.layers()
let lossless = PNGEncoder(level: 1, filter: .none, strategy: .default)
for (index, layer) in layers.enumerated() {
    try Data(try lossless.encode(layer.rgbaImage)).write(to: folder.appendingPathComponent("layer\(index).png"))
}

if arguments.contains("--sweep") {
    let image = try Scene.composite(layers).rgbaImage
    var rows: [String] = []
    for filter in PNGEncoder.Filter.allCases {
        for strategy in PNGEncoder.Strategy.allCases {
            for level in [1, 3, 6, 9] {
                let encoder = PNGEncoder(level: level, filter: filter, strategy: strategy)
                var size = 0
                let time = try best(3) { size = try encoder.encode(image).count }
                rows.append(#"{"filter":"\#(filter)","strategy":"\#(strategy)","level":\#(level),"bytes":\#(size),"ms":\#(Int(time * 1000))}"#)
            }
        }
    }
    print("[" + rows.joined(separator: ",\n") + "]")
    exit(0)
}

// The work, as Pillow's side does it: decode the six PNG layers once, then composite + encode.
let decoded = try (0..<6).map { try ImageFile.read(folder.appendingPathComponent("layer\($0).png").path) }
var output: [UInt8] = []
let compositeEncode = try best(5) {
    output = try PNGEncoder().encode(try Scene.composite(decoded).rgbaImage)
}
let allNormal = Array(repeating: BlendMode.normal, count: 6)
let compositeOnly = try best(5) { _ = try Scene.composite(decoded, modes: allNormal) }
var normalOutput: [UInt8] = []
let compositeNormalEncode = try best(5) {
    normalOutput = try PNGEncoder().encode(try Scene.composite(decoded, modes: allNormal).rgbaImage)
}
// The memory bound of the same work: each layer's bytes copied once onto a canvas-sized buffer (compositing reads
// each layer and reads + writes the canvas per layer, so it moves at least this much).
var canvasBytes = [UInt8](repeating: 0, count: Scene.side * Scene.side * 4)
let memcpyBound = best(5) {
    canvasBytes.withUnsafeMutableBytes { target in
        for layer in decoded {
            layer.pixels.withUnsafeBytes { source in _ = memcpy(target.baseAddress!, source.baseAddress!, source.count) }
        }
    }
}
try Data(output).write(to: folder.appendingPathComponent("kiln-composite.png"))
let pngBytes = try Array(Data(contentsOf: folder.appendingPathComponent("kiln-composite.png")))
let decodePNG = try best(5) { _ = try PNGDecoder().decode(pngBytes) }
let jpegBytes = try JPEGEncoder(quality: 90).encode(try Scene.composite(decoded))
try Data(jpegBytes).write(to: folder.appendingPathComponent("kiln-composite.jpg"))
let decodeJPEG = try best(5) { _ = try JPEGDecoder().decode(jpegBytes) }
print(#"{"composite_encode_s":\#(compositeEncode),"composite_normal_s":\#(compositeOnly),"composite_normal_encode_s":\#(compositeNormalEncode),"normal_png_bytes":\#(normalOutput.count),"memcpy_s":\#(memcpyBound),"png_bytes":\#(output.count),"decode_png_s":\#(decodePNG),"decode_jpeg_s":\#(decodeJPEG),"libpng":"\#(ImageLibraries.libpng)","zlib":"\#(ImageLibraries.zlib)"}"#)
