// Kiln — Apache-2.0. See LICENSE.
// The built-in model on one core, and one full quorum round with 4 nodes over real HTTP on loopback
// (the nodes run in this process: Hummingbird servers on free ports); an agreement round (two phases) against an
// exact round at 160², and the agreement metric on 1024² outputs (numpy's figure for the same: README).

import Benchmark
import KilnBenchmarkSupport
import KilnAVS
import KilnCore
import KilnCrypto
import KilnImage
import KilnInference
import Logging

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .kiln(
        metrics: [.wallClock, .throughput],
        warmupIterations: 2,
        maxDuration: .seconds(10),
        maxIterations: 200
    )

    let input: JSONValue = ["seed": 42, "level": 9, "width": 256, "height": 256]
    Benchmark("kiln_cppn-v1_256×256,_one_core") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try CPPNModel().render(input: input)) }
    }

    // A node's request overhead (HTTP, JSON, base64, signing): one 160² job through a node over loopback against
    // the model alone, as the node runs it (bands on every core).
    let small: JSONValue = ["seed": 42, "level": 9, "width": 160, "height": 160]
    Benchmark("kiln_cppn-v1_160×160,_one_core") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try CPPNModel().render(input: small)) }
    }
    Benchmark("kiln_cppn-v1_256×256,_bands_on_every_core_(as_a_node_runs_it)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try await CPPNModel().run(input: input)) }
    }
    Benchmark("One_node_job_160×160_over_HTTP_(model_+_request_overhead)", configuration: .init(setup: {
        await Nodes.shared.start()
    })) { benchmark in
        let node = await Nodes.shared.table.operators[0].endpoint
        var n: UInt64 = 1 << 40
        for _ in benchmark.scaledIterations {
            n += 1
            let request = JobRequest(jobId: Bytes32(word: n), model: "kiln/cppn-v1", input: small, referenceBlock: 1)
            blackHole(try await NodeClient().submit(request, to: node!, timeout: .seconds(60)))
        }
    }

    // The metric an agreement policy bounds, on two 1024² RGBA images that differ a little everywhere.
    var a = [UInt8](repeating: 0, count: 1024 * 1024 * 4)
    var b = a
    for i in a.indices {
        a[i] = UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13)
        b[i] = a[i] &+ UInt8(i % 3)
    }
    let first = try! RGBAImage(width: 1024, height: 1024, pixels: a)
    let second = try! RGBAImage(width: 1024, height: 1024, pixels: b)
    Benchmark("Pixel_distance_1024²_RGBA_(max_channel_diff,_Σd²)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(PixelDistance.between(first, second)) }
    }
    let firstPNG = try! PNGEncoder().encode(first), secondPNG = try! PNGEncoder().encode(second)
    Benchmark("Pixel_distance_1024²_from_two_PNG_files_(decode_both_+_metric)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(PixelDistance.between(files: firstPNG, secondPNG)) }
    }

    for policy in [AgreementPolicy.exact, .pixels(maxChannelDiff: 4, maxMSEMilli: 2000)] {
        let name = policy.isExact ? "Exact_round_(one_phase)" : "Agreement_round_(commit_+_agree)"
        Benchmark("\(name),_4_local_nodes,_160×160", configuration: .init(maxIterations: 40, setup: {
            await Nodes.shared.start()
        })) { benchmark in
            let table = await Nodes.shared.table
            var n: UInt64 = 1 << 32
            for _ in benchmark.scaledIterations {
                n += 1
                var input: [String: JSONValue] = ["seed": .number(n), "width": 160, "height": 160]
                if !policy.isExact { input["agreement"] = policy.json }
                // Exact: every node draws the same bytes; agreement: each node's output drifts by its index (0…3 levels).
                let model = policy.isExact ? "kiln/cppn-v1" : "bench/drift"
                let request = JobRequest(jobId: Bytes32(word: n), model: model, input: .object(input), referenceBlock: 1)
                var round = QuorumRound()
                round.waitForAll = true  // the same work as the agreement round's commit phase
                let report = await round.run(request, table: table)
                precondition(report.accepted != nil)
            }
        }
    }

    Benchmark("Quorum_round,_4_local_nodes,_256×256_(threshold_100_%)", configuration: .init(maxIterations: 30, setup: {
        await Nodes.shared.start()
    })) { benchmark in
        let table = await Nodes.shared.table
        var n: UInt64 = 0
        for _ in benchmark.scaledIterations {
            n += 1
            let request = JobRequest(jobId: Bytes32(word: n), model: "kiln/cppn-v1", input: ["seed": .number(n), "width": 256, "height": 256], referenceBlock: 1)
            let report = await QuorumRound().run(request, table: table)
            precondition(report.accepted != nil)
        }
    }
}

actor Nodes {
    static let shared = Nodes()
    var table = StakeTable(operators: [], thresholdBps: 10_000, domain: .kiln(chainId: 1, verifyingContract: .zero), referenceBlock: 1)
    var started = false

    func start() async {
        guard !started else { return }
        started = true
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        for index in 0..<4 {
            let key = try! PrivateKey(bytes: [UInt8](repeating: 0, count: 31) + [UInt8(index + 1)])
            var configuration = NodeConfiguration(key: key, domain: .kiln(chainId: 1, verifyingContract: .zero), models: [CPPNModel(), DriftModel(jitter: index)])
            configuration.maxConcurrentJobs = 1
            let node = InferenceNode(configuration: configuration, logger: logger)
            let (stream, continuation) = AsyncStream<Int>.makeStream()
            let app = NodeServer.application(node: node, host: "127.0.0.1", port: 0, logger: logger) { continuation.yield($0) }
            Task { try await app.run() }
            var iterator = stream.makeAsyncIterator()
            let port = await iterator.next()!
            table.operators.append(Operator(address: key.address, endpoint: .kiln("http://127.0.0.1:\(port)"), stake: 1))
        }
    }
}

/// `kiln/cppn-v1` with every 13th pixel's red raised by `jitter`: outputs a few levels apart, as a float model's.
struct DriftModel: InferenceModel {
    let id = "bench/drift"
    let summary = "kiln/cppn-v1, drifting"
    let jitter: Int

    func run(input: JSONValue) async throws(InferenceError) -> [UInt8] {
        let png = try CPPNModel().render(input: input)
        do {
            var image = try ImageFile.decode(png, source: "cppn")
            for pixel in stride(from: 0, to: image.width * image.height, by: 13) {
                image.pixels[pixel * 4] = UInt8(min(255, Int(image.pixels[pixel * 4]) + jitter))
            }
            return try PNGEncoder().encode(image)
        } catch {
            throw InferenceError(.modelFailed, "\(error)")
        }
    }
}
