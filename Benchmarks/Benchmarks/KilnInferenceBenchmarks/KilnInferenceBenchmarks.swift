// Kiln — Apache-2.0. See LICENSE.
// The built-in model on one core, and one full quorum round with 4 nodes over real HTTP on loopback
// (the nodes run in this process: Hummingbird servers on free ports).

import Benchmark
import KilnAVS
import KilnCore
import KilnCrypto
import KilnInference
import Logging

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(metrics: [.wallClock, .throughput], warmupIterations: 2, maxDuration: .seconds(10), maxIterations: 200)

    let input: JSONValue = ["seed": 42, "level": 9, "width": 256, "height": 256]
    Benchmark("kiln/cppn-v1 256×256, one core") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try CPPNModel().render(input: input)) }
    }

    Benchmark("Quorum round, 4 local nodes, 256×256 (threshold 100 %)", configuration: .init(maxIterations: 30, setup: {
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
            var configuration = NodeConfiguration(key: key, domain: .kiln(chainId: 1, verifyingContract: .zero), models: [CPPNModel()])
            configuration.maxConcurrentJobs = 1
            let node = InferenceNode(configuration: configuration, logger: logger)
            let (stream, continuation) = AsyncStream<Int>.makeStream()
            let app = NodeServer.application(node: node, host: "127.0.0.1", port: 0, logger: logger) { continuation.yield($0) }
            Task { try await app.run() }
            var iterator = stream.makeAsyncIterator()
            let port = await iterator.next()!
            table.operators.append(Operator(address: key.address, endpoint: "http://127.0.0.1:\(port)", stake: 1))
        }
    }
}
