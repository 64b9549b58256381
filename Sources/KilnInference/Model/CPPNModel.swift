// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
internal import Foundation
internal import Synchronization
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

    /// Runs the network, the rows of a large output split into bands drawn in parallel, one per core (each pixel
    /// depends on its coordinates only, so the bytes are those of ``render(input:cancelled:)``). The bands run on
    /// Dispatch's threads, not Swift's cooperative pool: CPU-bound work there for seconds would starve the node's
    /// HTTP handling and its job timer. Cancelling the task (a node's `--job-timeout`) stops every band within a row.
    public func run(input: JSONValue) async throws(InferenceError) -> [UInt8] {
        try await run(input: input, bandsStarting: {})
    }

    /// ``run(input:)`` with `bandsStarting` called on Dispatch's thread just before the bands start: tests hold it
    /// there to cancel while the bands run, whatever the machine's load.
    func run(input: JSONValue, bandsStarting: @escaping @Sendable () -> Void) async throws(InferenceError) -> [UInt8] {
        let (network, width, height) = try Self.parse(input)
        // Large outputs (from 256² up) in bands. Smaller ones — the 160² the example templates ask for — in one:
        // where a coordinator and several nodes share a machine, a job's threads beyond one only take CPU time from
        // the others (on CI's two cores, workers' heartbeats and a load test's node fell behind).
        let bands = width * height < 65_536 ? 1 : min(ProcessInfo.processInfo.activeProcessorCount, height)
        let stop = Mutex(false)
        let parts = await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<[[UInt8]?], Never>) in
                DispatchQueue.global(qos: .userInitiated).async {
                    let parts = Mutex([[UInt8]?](repeating: nil, count: bands))
                    bandsStarting()
                    DispatchQueue.concurrentPerform(iterations: bands) { band in
                        let rows = (height * band / bands)..<(height * (band + 1) / bands)
                        let pixels = network.draw(rows: rows, width: width, height: height) { stop.withLock { $0 } }
                        parts.withLock { $0[band] = pixels }
                    }
                    continuation.resume(returning: parts.withLock { $0 })
                }
            }
        } onCancel: {
            stop.withLock { $0 = true }
        }
        var pixels: [UInt8] = []
        pixels.reserveCapacity(width * height * 4)
        for part in parts {
            guard let part else { throw InferenceError(.timeout, "kiln/cppn-v1: cancelled") }
            pixels += part
        }
        return try Self.encode(pixels, width: width, height: height)
    }

    /// The same on the calling thread; `cancelled` is asked before each row and stops the work with a timeout
    /// error.
    public func render(input: JSONValue, cancelled: () -> Bool = { false }) throws(InferenceError) -> [UInt8] {
        let (network, width, height) = try Self.parse(input)
        guard let pixels = network.draw(rows: 0..<height, width: width, height: height, cancelled: cancelled) else {
            throw InferenceError(.timeout, "kiln/cppn-v1: cancelled")
        }
        return try Self.encode(pixels, width: width, height: height)
    }

    /// The network and the output size an input asks for.
    static func parse(_ input: JSONValue) throws(InferenceError) -> (Network, width: Int, height: Int) {
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
            throw InferenceError(.badInput, "kiln/cppn-v1: \(error.message)", cause: error)
        }
        return (Network(seed: seed, level: level), width, height)
    }

    static func encode(_ pixels: [UInt8], width: Int, height: Int) throws(InferenceError) -> [UInt8] {
        do {
            return try PNGEncoder().encode(try RGBAImage(width: width, height: height, pixels: pixels))
        } catch {
            throw InferenceError(.modelFailed, "kiln/cppn-v1: \(error.message)", cause: error)
        }
    }

    /// The network's parameters, drawn from the seed.
    struct Network: Sendable {
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

        /// The pixels of `rows` (RGBA, opaque), or nil when `cancelled` (asked before each row) says to stop.
        /// Two scratch vectors, reused for every pixel and layer (no allocation per pixel).
        func draw(rows: Range<Int>, width: Int, height: Int, cancelled: () -> Bool = { false }) -> [UInt8]? {
            var pixels = [UInt8](repeating: 255, count: rows.count * width * 4)
            let side = Int64(max(width, height))
            let widest = max(3 + CPPNModel.latent, CPPNModel.hidden)
            let finished = withUnsafeTemporaryAllocation(of: Int64.self, capacity: 2 * widest + 3) { scratch in
                pixels.withUnsafeMutableBufferPointer { pixels in
                    let base = scratch.baseAddress!
                    let rgb = base + 2 * widest
                    for py in rows {
                        if cancelled() { return false }
                        // Pixel centres in (−1, 1), square aspect.
                        let y = (Int64(2 * py + 1) - Int64(height)) * Q16.one / side
                        for px in 0..<width {
                            let x = (Int64(2 * px + 1) - Int64(width)) * Q16.one / side
                            var values = base, next = base + widest
                            values[0] = x
                            values[1] = y
                            values[2] = Q16.isqrt(x * x + y * y)
                            for (index, z) in latent.enumerated() { values[3 + index] = z }
                            for layer in layers {
                                Self.apply(layer, values, into: next)
                                swap(&values, &next)
                            }
                            Self.apply(output, values, into: rgb)
                            let o = ((py - rows.lowerBound) * width + px) * 4
                            for c in 0..<3 {
                                // tanh ∈ [−1, 1] → 0…255, rounded.
                                pixels[o + c] = UInt8(clamping: ((rgb[c] + Q16.one) * 255 + Q16.one) / (2 * Q16.one))
                            }
                        }
                    }
                    return true
                }
            }
            return finished ? pixels : nil
        }

        @inline(__always)
        static func apply(_ layer: Layer, _ inputs: UnsafePointer<Int64>, into out: UnsafeMutablePointer<Int64>) {
            layer.weights.withUnsafeBufferPointer { weights in
                for neuron in 0..<layer.biases.count {
                    var sum = layer.biases[neuron]
                    let row = neuron * layer.inputs
                    for i in 0..<layer.inputs { sum &+= Q16.mul(weights[row + i], inputs[i]) }
                    sum = Q16.clamp(sum)
                    switch layer.activations[neuron] {
                    case .sin: out[neuron] = Q16.sin(sum)
                    case .tanh: out[neuron] = Q16.tanh(sum)
                    case .gaussian: out[neuron] = Q16.gaussian(sum) * 2 - Q16.one
                    }
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
