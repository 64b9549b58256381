// Kiln — Apache-2.0. See LICENSE.
// UnixFS import throughput against raw sha2-256 of the same bytes (swift-crypto), in one run.

import Benchmark
import KilnBenchmarkSupport
import Crypto
import Foundation
import KilnContent

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .kiln(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 1,
        maxDuration: .seconds(20),
        maxIterations: 20
    )

    let size = 256 << 20
    var generator = SystemRandomNumberGenerator()
    let bytes = (0..<(size / 8)).flatMap { _ in withUnsafeBytes(of: generator.next()) { Array($0) } }
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-bench-256m").path
    FileManager.default.createFile(atPath: path, contents: Data(bytes))

    Benchmark("sha2-256_of_256_MiB_(swift-crypto,_raw)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(SHA256.hash(data: bytes)) }
    }
    Benchmark("UnixFS_DAG_of_256_MiB_in_memory_(kubo-v1)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try Importer(profile: .kuboV1).add(bytes: bytes)) }
    }
    Benchmark("UnixFS_DAG_of_a_256_MiB_file,_streamed_(kubo-v1)") { benchmark in
        for _ in benchmark.scaledIterations { blackHole(try Importer(profile: .kuboV1).add(path: path)) }
    }
}
