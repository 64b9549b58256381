// Kiln — Apache-2.0. See LICENSE.
// Keccak-256 throughput; compare with scripts/bench/eth_hash_bench.py (eth-hash, pycryptodome backend).

import Benchmark
import KilnBenchmarkSupport
import KilnCore

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .kiln(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions],
        warmupIterations: 10,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000
    )

    // MARK: - Keccak-256

    let small = [UInt8](repeating: 0xA5, count: 64)
    Benchmark("Keccak256_64_B", configuration: .init(scalingFactor: .kilo)) { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Keccak256.hash(small))
        }
    }

    let large = (0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
    Benchmark("Keccak256_1_MiB") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(Keccak256.hash(large))
        }
    }
}
