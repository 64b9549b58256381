// Kiln — Apache-2.0. See LICENSE.
// Signature recovery and signing; compare with scripts/bench/eth_hash_bench.py (eth-account / eth-keys).

import Benchmark
import KilnCore
import KilnCrypto

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 10,
        maxDuration: .seconds(3),
        maxIterations: 100_000,
        thresholds: kilnThresholds
    )

    let key = try! PrivateKey(bytes: (1...32).map { UInt8($0) })
    let digest = Keccak256.hash(utf8: "kiln benchmark")
    let signature = key.sign(digest: digest)

    Benchmark("secp256k1_recover_address") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(try! signature.recoverAddress(digest: digest))
        }
    }

    Benchmark("secp256k1_sign") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(key.sign(digest: digest))
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
    ]
}
