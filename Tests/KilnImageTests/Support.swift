import Foundation
import KilnCore
@testable import KilnImage
import KilnTesting
import Testing

func bytes(at path: String) throws -> [UInt8] { Array(try Data(contentsOf: URL(fileURLWithPath: path))) }

/// Peak signal-to-noise ratio of two same-size RGBA buffers over R, G, B (dB; infinity when identical).
func psnr(_ a: [UInt8], _ b: [UInt8]) -> Double {
    precondition(a.count == b.count)
    var sum = 0.0
    var count = 0
    for index in a.indices where index % 4 != 3 {
        let d = Double(a[index]) - Double(b[index])
        sum += d * d
        count += 1
    }
    if sum == 0 { return .infinity }
    return 10 * log10(255 * 255 / (sum / Double(count)))
}

/// A random straight RGBA image with a mix of opaque, transparent and partial alpha.
func randomImage(width: Int, height: Int, opaque: Bool, _ generator: inout SeededGenerator) -> RGBAImage {
    var pixels = generator.bytes(width * height * 4)
    for index in stride(from: 3, to: pixels.count, by: 4) {
        if opaque {
            pixels[index] = 255
        } else {
            switch pixels[index] % 4 {
            case 0: pixels[index] = 0
            case 1: pixels[index] = 255
            default: break
            }
        }
    }
    return try! RGBAImage(width: width, height: height, pixels: pixels)
}

extension JSONValue {
    var items: [JSONValue] {
        if case .array(let items) = self { return items }
        return []
    }
    var int: Int { Int(integerValue!) }
}
