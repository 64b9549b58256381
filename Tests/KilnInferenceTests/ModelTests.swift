import Crypto
import Foundation
import KilnCore
import KilnImage
@testable import KilnInference
import Testing

func sha256(_ bytes: [UInt8]) -> String { SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined() }

struct FixedPointTests {
    @Test func approximationsStayClose() {
        for step in -400...400 {
            let x = Double(step) / 40  // −10 … 10
            let q = Int64((x * 65536).rounded())
            #expect(abs(Double(Q16.sin(q)) / 65536 - sin(x)) < 5e-4, "sin(\(x))")
            #expect(abs(Double(Q16.tanh(q)) / 65536 - tanh(x)) < 2.5e-2, "tanh(\(x))")
            #expect(abs(Double(Q16.gaussian(q)) / 65536 - exp(-x * x)) < 5e-4, "gaussian(\(x))")
        }
        for n: Int64 in [0, 1, 2, 3, 4, 15, 16, 17, 1 << 40, (1 << 40) + 12345] {
            let r = Q16.isqrt(n)
            #expect(r * r <= n && (r + 1) * (r + 1) > n, "isqrt(\(n))")
        }
    }
}

struct CPPNModelTests {
    static let inputs: [JSONValue] = [
        ["seed": 1, "level": 1, "width": 48, "height": 48],
        ["seed": 2, "level": 9, "width": 48, "height": 32],
        ["seed": 3, "level": 17, "palette": "gold", "width": 32, "height": 48],
    ]
    /// SHA-256 of the PNG for each input: any change to the model's arithmetic shows here.
    static let goldens = [
        "2c85e6839c767e03d95b7e6bd603db1ef3f7ab8e1e2ec0c595826256eea63d65",
        "c2f757d4f9366eef27364474696fffd6ad533f10d6a6be96af5c0756110c9077",
        "c9e93a5fb3b2d9767b183c3d5838afd47c8128f1c496a57b24413dd8dcf67161",
    ]

    @Test func outputsArePinned() throws {
        let digests = try Self.inputs.map { sha256(try CPPNModel().render(input: $0)) }
        #expect(digests == Self.goldens)
        #expect(Set(digests).count == 3)
    }

    @Test func outputIsAnOpaqueImageOfTheAskedSize() throws {
        let image = try PNGDecoder().decode(try CPPNModel().render(input: Self.inputs[1]))
        #expect(image.width == 48 && image.height == 32 && image.isOpaque)
        // Generative art, not flat colour: many distinct colours.
        var colours = Set<UInt32>()
        for i in stride(from: 0, to: image.pixels.count, by: 4) {
            colours.insert(
                UInt32(image.pixels[i]) << 16 | UInt32(image.pixels[i + 1]) << 8 | UInt32(image.pixels[i + 2])
            )
        }
        #expect(colours.count > 200)
    }

    /// `run` draws bands of rows in parallel; the bytes are those of the one-thread `render`, for heights that do
    /// and do not divide among the cores, and for an output small enough to stay in one band.
    @Test(arguments: [(256, 257), (512, 128), (33, 17)])
    func parallelBandsGiveTheOneThreadBytes(width: Int, height: Int) async throws {
        let input: JSONValue = [
            "seed": .number(width), "level": 7, "width": .number(width),
            "height": .number(height),
        ]
        #expect(try await CPPNModel().run(input: input) == (try CPPNModel().render(input: input)))
    }

    /// Cancelling the task stops the bands (on Dispatch's threads) and is a timeout error. The bands are held at
    /// their start until the task is cancelled: a timed sleep instead lost the race on a loaded CI machine (the
    /// 1024² output was finished before the 50 ms sleep ended).
    @Test func cancellingTheTaskStopsTheBands() async {
        let (started, starting) = AsyncStream.makeStream(of: Void.self)
        let cancelled = DispatchSemaphore(value: 0)
        let task = Task { () async throws(InferenceError) -> [UInt8] in
            try await CPPNModel().run(input: ["width": 1024, "height": 1024]) {
                starting.yield()
                cancelled.wait()
            }
        }
        for await _ in started { break }
        task.cancel()
        cancelled.signal()
        await #expect(throws: InferenceError(.timeout, "kiln/cppn-v1: cancelled")) { try await task.value }
    }

    @Test func cancellationStopsTheModelWithinARow() {
        var asked = 0
        #expect(throws: InferenceError(.timeout, "kiln/cppn-v1: cancelled")) {
            try CPPNModel().render(input: ["width": 64, "height": 64]) {
                asked += 1
                return asked > 3
            }
        }
        #expect(asked == 4, "asked before each row, and stopped at the first 'cancelled'")
        var rows = 0
        _ = try? CPPNModel().render(input: ["width": 8, "height": 5]) {
            rows += 1
            return false
        }
        #expect(rows == 5)
    }

    @Test func badInputs() {
        #expect(throws: InferenceError(.badInput, "kiln/cppn-v1 takes a JSON object, found string(\"x\")")) {
            try CPPNModel().render(input: "x")
        }
        #expect(throws: InferenceError(.badInput, "kiln/cppn-v1: 'width' must be a whole number 1…1024")) {
            try CPPNModel().render(input: ["width": 5000])
        }
    }
}
