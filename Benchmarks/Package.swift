// swift-tools-version:6.1
//
// Kiln's benchmarks, a package of their own so that the main build and CI never build the benchmark tooling.
// Run from this folder:  swift package benchmark   (release mode; see ../README.md, "Benchmarks")

import PackageDescription

import class Foundation.ProcessInfo
import struct Foundation.URL

/// SwiftPM names a path dependency after its folder, which is whatever the clone was called.
let kiln = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent

let package = Package(
    name: "KilnBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(path: "../"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.1"),
    ],
    targets: [
        // The tolerances every benchmark target shares.
        .target(
            name: "KilnBenchmarkSupport",
            dependencies: [.product(name: "Benchmark", package: "benchmark")],
            path: "Support"
        ),
        .executableTarget(
            name: "KilnCoreBenchmarks",
            dependencies: [
                .product(name: "KilnCore", package: kiln),
                .product(name: "Benchmark", package: "benchmark"),
                "KilnBenchmarkSupport",
            ],
            path: "Benchmarks/KilnCoreBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "KilnCryptoBenchmarks",
            dependencies: [
                .product(name: "KilnCore", package: kiln),
                .product(name: "KilnCrypto", package: kiln),
                .product(name: "Benchmark", package: "benchmark"),
                "KilnBenchmarkSupport",
            ],
            path: "Benchmarks/KilnCryptoBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "KilnImageBenchmarks",
            dependencies: [
                .product(name: "KilnImage", package: kiln),
                .product(name: "Benchmark", package: "benchmark"),
                "KilnBenchmarkSupport",
            ],
            path: "Benchmarks/KilnImageBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "KilnContentBenchmarks",
            dependencies: [
                .product(name: "KilnContent", package: kiln),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Benchmark", package: "benchmark"),
                "KilnBenchmarkSupport",
            ],
            path: "Benchmarks/KilnContentBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "KilnInferenceBenchmarks",
            dependencies: [
                .product(name: "KilnInference", package: kiln),
                .product(name: "KilnImage", package: kiln),
                .product(name: "KilnAVS", package: kiln),
                .product(name: "KilnCore", package: kiln),
                .product(name: "KilnCrypto", package: kiln),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Benchmark", package: "benchmark"),
                "KilnBenchmarkSupport",
            ],
            path: "Benchmarks/KilnInferenceBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "KilnTemplatesBenchmarks",
            dependencies: [
                .product(name: "KilnTemplates", package: kiln),
                .product(name: "KilnImage", package: kiln),
                .product(name: "KilnCore", package: kiln),
                .product(name: "BigInt", package: "BigInt"),
                .product(name: "Benchmark", package: "benchmark"),
                "KilnBenchmarkSupport",
            ],
            path: "Benchmarks/KilnTemplatesBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "KilnPipelineBenchmarks",
            dependencies: [
                .product(name: "KilnPipeline", package: kiln),
                .product(name: "KilnCore", package: kiln),
                .product(name: "Benchmark", package: "benchmark"),
                "KilnBenchmarkSupport",
            ],
            path: "Benchmarks/KilnPipelineBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Kiln's half of compare_pillow.py: the same work as Pillow's half, timed in one run.
        .executableTarget(
            name: "KilnImageCompare",
            dependencies: [.product(name: "KilnImage", package: kiln)],
            path: "Benchmarks/KilnImageCompare"
        ),
    ],
    swiftLanguageModes: [.v6]
)
