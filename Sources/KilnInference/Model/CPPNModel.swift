// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
internal import KilnImage
internal import BigInt

/// `kiln/cppn-v1`: a compositional pattern-producing network drawn in fixed-point integers.
///
/// Every pixel's coordinates `(x, y)`, its distance from the centre `r` and a latent vector `z` go through three
/// dense layers of 12 neurons (each neuron's activation sin, tanh or Gaussian, chosen by the weights), then three
/// output neurons (tanh → R, G, B). Weights, biases, activations and `z` come from `keccak256` of the canonical
/// JSON input in counter mode, so the input alone decides the picture. An integer `level` in the input raises
/// the first layer's frequencies (more detail at higher levels); `width` and `height` (1…1024, default 256)
/// set the size. The output is an opaque PNG from Kiln's deterministic encoder.
public struct CPPNModel: InferenceModel {
    public let id = "kiln/cppn-v1"
    public let summary =
        "compositional pattern-producing network, fixed-point, deterministic; input: any JSON object (level, width, height read if present)"

    static let hidden = 12
    static let latent = 4

    public init() {}

    /// Runs the network; stops within a row of pixels once the task is cancelled (a node's `--job-timeout`).
    public func run(input: JSONValue) async throws(InferenceError) -> [UInt8] {
        try render(input: input, cancelled: { Task.isCancelled })
    }

    /// The same, synchronously; `cancelled` is asked before each row and stops the work with a timeout error.
    public func render(input: JSONValue, cancelled: () -> Bool = { false }) throws(InferenceError) -> [UInt8] {
        guard case .object(let members) = input else {
            throw InferenceError(.badInput, "kiln/cppn-v1 takes a JSON object, found \(input)")
        }
        func dimension(_ key: String) throws(InferenceError) -> Int {
            guard let value = members[key] else { return 256 }
            guard let number = value.integerValue, (1...1024).contains(number) else {
                throw InferenceError(.badInput, "kiln/cppn-v1: '\(key)' must be a whole number 1…1024")
            }
            return Int(number)
        }
        let width = try dimension("width"), height = try dimension("height")
        let level = members["level"]?.integerValue.map { Int64(clamping: $0) } ?? 1
        let seed: Bytes32
        do { seed = try input.canonicalHash() } catch {
            throw InferenceError(.badInput, "kiln/cppn-v1: \(error.message)")
        }
        guard let pixels = Network(seed: seed, level: level).draw(width: width, height: height, cancelled: cancelled)
        else {
            throw InferenceError(.timeout, "kiln/cppn-v1: cancelled")
        }
        do {
            return try PNGEncoder().encode(try RGBAImage(width: width, height: height, pixels: pixels))
        } catch {
            throw InferenceError(.modelFailed, "kiln/cppn-v1: \(error.message)")
        }
    }

    /// The network's parameters, drawn from the seed.
    struct Network {
        enum Activation { case sin, tanh, gaussian }
        struct Layer {
            var weights: [Int64]  // outputs × inputs, row-major
            var biases: [Int64]
            var activations: [Activation]
            var inputs: Int
        }

        var layers: [Layer] = []
        var output: Layer
        var latent: [Int64]

        init(seed: Bytes32, level: Int64) {
            var stream = ParameterStream(seed: seed)
            latent = (0..<CPPNModel.latent).map { _ in stream.next() }
            // First-layer gain rises with the level: 1.5 at level 1, up to 7.5.
            let gain = Q16.one * 3 / 2 + min(max(level - 1, 0), 24) * Q16.one / 4
            var inputs = 3 + CPPNModel.latent
            for index in 0..<3 {
                let scale = index == 0 ? gain : Q16.one * 2
                layers.append(Self.layer(&stream, inputs: inputs, outputs: CPPNModel.hidden, scale: scale))
                inputs = CPPNModel.hidden
            }
            output = Self.layer(&stream, inputs: inputs, outputs: 3, scale: Q16.one)
            output.activations = [.tanh, .tanh, .tanh]
        }

        static func layer(_ stream: inout ParameterStream, inputs: Int, outputs: Int, scale: Int64) -> Layer {
            let weights = (0..<(inputs * outputs)).map { _ in Q16.mul(stream.next(), scale) }
            let biases = (0..<outputs).map { _ in stream.next() / 2 }
            let activations: [Activation] = (0..<outputs).map { _ in
                switch (stream.next() & 0xFFFF) % 3 {
                case 0: .sin
                case 1: .tanh
                default: .gaussian
                }
            }
            return Layer(weights: weights, biases: biases, activations: activations, inputs: inputs)
        }

        /// The pixels, or nil when `cancelled` (asked before each row) says to stop.
        func draw(width: Int, height: Int, cancelled: () -> Bool = { false }) -> [UInt8]? {
            var pixels = [UInt8](repeating: 255, count: width * height * 4)
            let side = Int64(max(width, height))
            var values = [Int64](repeating: 0, count: 3 + CPPNModel.latent)
            var next = [Int64](repeating: 0, count: CPPNModel.hidden)
            for py in 0..<height {
                if cancelled() { return nil }
                for px in 0..<width {
                    // Pixel centres in (−1, 1), square aspect.
                    let x = (Int64(2 * px + 1) - Int64(width)) * Q16.one / side
                    let y = (Int64(2 * py + 1) - Int64(height)) * Q16.one / side
                    values.removeAll(keepingCapacity: true)
                    values += [x, y, Q16.isqrt(x * x + y * y)]
                    values += latent
                    for layer in layers {
                        Self.apply(layer, values, into: &next)
                        values.removeAll(keepingCapacity: true)
                        values += next
                    }
                    var rgb = [Int64](repeating: 0, count: 3)
                    Self.apply(output, values, into: &rgb)
                    let o = (py * width + px) * 4
                    for c in 0..<3 {
                        // tanh ∈ [−1, 1] → 0…255, rounded.
                        pixels[o + c] = UInt8(clamping: ((rgb[c] + Q16.one) * 255 + Q16.one) / (2 * Q16.one))
                    }
                }
            }
            return pixels
        }

        static func apply(_ layer: Layer, _ inputs: [Int64], into out: inout [Int64]) {
            for neuron in 0..<layer.biases.count {
                var sum = layer.biases[neuron]
                let row = neuron * layer.inputs
                for i in 0..<layer.inputs { sum &+= Q16.mul(layer.weights[row + i], inputs[i]) }
                sum = Q16.clamp(sum)
                switch layer.activations[neuron] {
                case .sin: out[neuron] = Q16.sin(sum)
                case .tanh: out[neuron] = Q16.tanh(sum)
                case .gaussian: out[neuron] = Q16.gaussian(sum) * 2 - Q16.one
                }
            }
        }
    }

    /// Keccak-256 in counter mode: parameters in [−1, 1) (Q16) two bytes at a time.
    struct ParameterStream {
        let seed: Bytes32
        var counter: UInt64 = 0
        var buffer: [UInt8] = []

        init(seed: Bytes32) { self.seed = seed }

        mutating func next() -> Int64 {
            if buffer.count < 2 {
                buffer += Keccak256.hash(seed.bytes + Bytes32(word: counter).bytes).bytes
                counter += 1
            }
            let value = Int16(bitPattern: UInt16(buffer[0]) << 8 | UInt16(buffer[1]))
            buffer.removeFirst(2)
            return Int64(value) * 2
        }
    }
}
