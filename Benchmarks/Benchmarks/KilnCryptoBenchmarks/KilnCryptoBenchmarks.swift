// Kiln — Apache-2.0. See LICENSE.
// Signature recovery and signing; compare with scripts/bench/eth_hash_bench.py (eth-account / eth-keys).

import Benchmark
import KilnBenchmarkSupport
import KilnCore
import KilnCrypto

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .kiln(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 10,
        maxDuration: .seconds(3),
        maxIterations: 100_000
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
