// Kiln — Apache-2.0. See LICENSE.
// Keccak-256 throughput; compare with scripts/bench/eth_hash_bench.py (eth-hash, pycryptodome backend).

import Benchmark
import KilnCore

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .instructions],
        warmupIterations: 10,
        maxDuration: .seconds(3),
        maxIterations: 1_000_000,
        thresholds: kilnThresholds
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

/// Benchmark names use `_` for spaces: benchmark 1.38's `thresholds update` writes `Target.Name.p90.json` with spaces
/// and slashes made `_`, while `thresholds check` looks the name up as it is, so only such names are checked.
/// A regression is a p90 wall time (or rate) more than 50 % worse than the committed one, or 10 % more mallocs or
/// instructions (`Benchmarks/Thresholds/`, written by
/// `swift package --allow-writing-to-package-directory benchmark thresholds update`; checked by
/// `swift package benchmark thresholds check`). Wide, because this shared 2-core machine's timings wander by up to
/// 40 % between runs (Keccak-256 of 1 MiB: 364 and 228 per second, minutes apart).
var kilnThresholds: [BenchmarkMetric: BenchmarkThresholds] {
    [
        .wallClock: BenchmarkThresholds(relative: [.p90: 50.0]),
        .throughput: BenchmarkThresholds(relative: [.p90: 50.0]),
        .mallocCountTotal: BenchmarkThresholds(relative: [.p90: 10.0]),
        .instructions: BenchmarkThresholds(relative: [.p90: 10.0]),
    ]
}
