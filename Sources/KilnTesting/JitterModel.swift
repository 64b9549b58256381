// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
internal import KilnImage
public import KilnInference

/// A model for agreement tests that is not bit-exact across "machines": `kiln/cppn-v1`'s picture with every
/// 13th pixel's red channel raised by `jitter` (clamped), the way a float model drifts by a few levels per
/// machine. Two nodes with jitters a and b differ by at most |a − b| per channel.
public struct JitterModel: InferenceModel {
    public let id: String
    public let jitter: Int
    public var summary: String { "kiln/cppn-v1 with every 13th pixel's red raised by \(jitter) (tests only)" }

    public init(id: String = "test/jitter", jitter: Int) {
        self.id = id
        self.jitter = jitter
    }

    public func run(input: JSONValue) async throws(InferenceError) -> [UInt8] {
        let png = try CPPNModel().render(input: input)
        do {
            var image = try ImageFile.decode(png, source: "cppn")
            var index = 0
            while index < image.width * image.height {
                let red = index * 4
                image.pixels[red] = UInt8(min(255, Int(image.pixels[red]) + jitter))
                index += 13
            }
            return try PNGEncoder().encode(image)
        } catch {
            throw InferenceError(.modelFailed, "jitter: \(error.message)", cause: error)
        }
    }
}
