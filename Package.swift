// swift-tools-version:6.1
//
// Kiln — keeps the media of dynamic NFTs true to their on-chain state.
// Module map: docs/explanation/architecture.md.

import PackageDescription

// MARK: - Products used by several targets, named once (swift-nio's manifest does the same).
let bigInt: Target.Dependency = .product(name: "BigInt", package: "BigInt")
let logging: Target.Dependency = .product(name: "Logging", package: "swift-log")
let metrics: Target.Dependency = .product(name: "Metrics", package: "swift-metrics")
let prometheus: Target.Dependency = .product(name: "Prometheus", package: "swift-prometheus")
let crypto: Target.Dependency = .product(name: "Crypto", package: "swift-crypto")
let yams: Target.Dependency = .product(name: "Yams", package: "Yams")
let hummingbird: Target.Dependency = .product(name: "Hummingbird", package: "hummingbird")
let hummingbirdCore: Target.Dependency = .product(name: "HummingbirdCore", package: "hummingbird")
let hummingbirdTesting: Target.Dependency = .product(name: "HummingbirdTesting", package: "hummingbird")
let asyncHTTPClient: Target.Dependency = .product(name: "AsyncHTTPClient", package: "async-http-client")
let nioCore: Target.Dependency = .product(name: "NIOCore", package: "swift-nio")
let nioHTTP1: Target.Dependency = .product(name: "NIOHTTP1", package: "swift-nio")
let nioPosix: Target.Dependency = .product(name: "NIOPosix", package: "swift-nio")
let nioFileSystem: Target.Dependency = .product(name: "_NIOFileSystem", package: "swift-nio")
let nioHTTPTypes: Target.Dependency = .product(name: "NIOHTTPTypes", package: "swift-nio-extras")
let nioHTTPTypesHTTP1: Target.Dependency = .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras")
let httpTypes: Target.Dependency = .product(name: "HTTPTypes", package: "swift-http-types")
let grdb: Target.Dependency = .product(name: "GRDB", package: "GRDB.swift")
let nioSSL: Target.Dependency = .product(name: "NIOSSL", package: "swift-nio-ssl")
let postgresNIO: Target.Dependency = .product(name: "PostgresNIO", package: "postgres-nio")
let mustache: Target.Dependency = .product(name: "Mustache", package: "swift-mustache")
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let serviceLifecycle: Target.Dependency = .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")
let unixSignals: Target.Dependency = .product(name: "UnixSignals", package: "swift-service-lifecycle")

let package = Package(
    name: "Kiln",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "kiln", targets: ["kiln"]),
        .library(name: "KilnCore", targets: ["KilnCore"]),
        .library(name: "KilnCrypto", targets: ["KilnCrypto"]),
        .library(name: "KilnImage", targets: ["KilnImage"]),
        .library(name: "KilnContent", targets: ["KilnContent"]),
        .library(name: "KilnYAML", targets: ["KilnYAML"]),
        .library(name: "KilnTemplates", targets: ["KilnTemplates"]),
        .library(name: "KilnInference", targets: ["KilnInference"]),
        .library(name: "KilnAVS", targets: ["KilnAVS"]),
        .library(name: "KilnStore", targets: ["KilnStore"]),
        .library(name: "KilnChain", targets: ["KilnChain"]),
        .library(name: "KilnPipeline", targets: ["KilnPipeline"]),
        .library(name: "KilnServer", targets: ["KilnServer"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/attaswift/BigInt", from: "6.0.1"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
    ],
    targets: [
        // MARK: - C libraries (not API: see README "Modules")
        .systemLibrary(
            name: "CSecp256k1",
            pkgConfig: "libsecp256k1",
            providers: [.apt(["libsecp256k1-dev"]), .brew(["secp256k1"])]
        ),
        .systemLibrary(
            name: "CLibPNG",
            pkgConfig: "libpng",
            providers: [.apt(["libpng-dev"]), .brew(["libpng"])]
        ),
        .systemLibrary(
            name: "CJPEG",
            pkgConfig: "libjpeg",
            providers: [.apt(["libjpeg-dev"]), .brew(["jpeg-turbo"])]
        ),
        // setjmp/longjmp error handling for libpng and libjpeg, so no Swift frame is ever jumped over; and glibc's
        // mallopt, which Swift's Glibc module lacks (MallocArenas).
        .target(
            name: "CKilnShims",
            dependencies: ["CLibPNG", "CJPEG"],
            linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("jpeg"), .linkedLibrary("z")]
        ),

        // MARK: - Library modules
        .target(
            name: "KilnCore",
            dependencies: [bigInt]
        ),
        .target(
            name: "KilnCrypto",
            dependencies: ["KilnCore", "CSecp256k1"]
        ),
        .target(
            name: "KilnImage",
            dependencies: ["KilnCore", "CKilnShims"]
        ),
        .target(
            name: "KilnContent",
            dependencies: ["KilnCore", crypto, grdb]
        ),
        .target(
            name: "KilnYAML",
            dependencies: ["KilnCore", yams]
        ),
        .target(
            name: "KilnTemplates",
            dependencies: ["KilnCore", "KilnImage", "KilnYAML", bigInt]
        ),
        .target(
            name: "KilnInference",
            dependencies: [
                "KilnCore", "KilnCrypto", "KilnImage", "KilnContent",
                bigInt,
                logging,
                metrics,
                prometheus,
                hummingbird,
                asyncHTTPClient,
                nioCore,
                nioHTTP1,
                nioHTTPTypes,
                httpTypes,
            ]
        ),
        .target(
            name: "KilnAVS",
            dependencies: [
                "KilnCore", "KilnCrypto", "KilnInference", "KilnChain", "KilnYAML",
                bigInt,
                logging,
                metrics,
            ]
        ),
        .target(
            name: "KilnStore",
            dependencies: [
                "KilnCore", "KilnCrypto", grdb,
                postgresNIO, nioCore, nioSSL,
                logging,
            ]
        ),
        .target(
            name: "KilnChain",
            dependencies: [
                "KilnCore", "KilnCrypto", bigInt,
                asyncHTTPClient,
                nioCore,
                nioHTTP1,
            ]
        ),
        .target(
            name: "KilnPipeline",
            dependencies: [
                "KilnCore", "KilnCrypto", "KilnImage", "KilnContent", "KilnTemplates", "KilnStore", "KilnInference",
                "KilnAVS",
                "KilnChain", "KilnYAML", bigInt,
                logging,
                crypto,
                metrics,
                asyncHTTPClient,
                nioCore,
                nioHTTP1,
                nioFileSystem,
                nioPosix,
            ]
        ),
        .target(
            name: "KilnServer",
            dependencies: [
                "KilnCore", "KilnContent", "KilnStore", "KilnPipeline",
                bigInt,
                logging,
                hummingbird,
                hummingbirdCore,
                httpTypes,
                nioHTTPTypes,
                nioHTTPTypesHTTP1,
                nioCore,
                nioHTTP1,
                nioPosix,
                metrics,
                prometheus,
                mustache,
            ]
        ),

        // MARK: - The CLI
        .executableTarget(
            name: "kiln",
            dependencies: [
                "CKilnShims",
                "KilnCore",
                "KilnCrypto",
                "KilnImage",
                "KilnContent",
                "KilnTemplates",
                "KilnInference",
                "KilnAVS",
                "KilnStore",
                "KilnPipeline",
                "KilnServer",
                "KilnChain",
                "KilnYAML",
                bigInt,
                metrics,
                prometheus,
                logging,
                hummingbird,
                argumentParser,
                serviceLifecycle,
                unixSignals,
            ]
        ),

        // MARK: - Fuzzing (see README "Reliability" and scripts/dev/fuzz.sh)
        .target(
            name: "KilnFuzz",
            dependencies: [
                "KilnCore", "KilnImage", "KilnContent", "KilnTemplates", "KilnInference", "KilnAVS", "KilnChain",
                "KilnPipeline",
            ]
        ),
        .executableTarget(name: "kiln-fuzz", dependencies: ["KilnFuzz"]),

        // MARK: - Test support and tests
        .target(
            name: "KilnTesting",
            dependencies: [
                "KilnCore", "KilnCrypto", "KilnImage", "KilnInference", bigInt, logging,
            ],
            path: "Sources/KilnTesting"
        ),
        .testTarget(
            name: "KilnCoreTests",
            dependencies: ["KilnCore", "KilnTesting", bigInt],
            resources: [.copy("Vectors")]
        ),
        .testTarget(
            name: "KilnCryptoTests",
            dependencies: ["KilnCrypto", "KilnCore", "KilnTesting"]
        ),
        .testTarget(
            name: "KilnImageTests",
            dependencies: ["KilnImage", "KilnTesting", crypto]
        ),
        .testTarget(
            name: "KilnContentTests",
            dependencies: ["KilnContent", "KilnCore", "KilnTesting", grdb]
        ),
        .testTarget(
            name: "KilnTemplatesTests",
            dependencies: [
                "KilnTemplates", "KilnCore", "KilnImage", "KilnTesting", bigInt,
                crypto,
            ]
        ),
        .testTarget(
            name: "KilnInferenceTests",
            dependencies: [
                "KilnInference", "KilnCore", "KilnCrypto", "KilnImage", "KilnTesting", hummingbird, hummingbirdTesting,
                httpTypes, logging,
                crypto,
                asyncHTTPClient,
                nioCore,
                nioHTTP1,
            ]
        ),
        .testTarget(
            name: "KilnAVSTests",
            dependencies: [
                "KilnAVS", "KilnCore", "KilnCrypto", "KilnImage", "KilnInference", "KilnTesting",
                bigInt, logging,
            ]
        ),
        .testTarget(
            name: "KilnStoreTests",
            dependencies: ["KilnStore", "KilnCore", "KilnTesting", bigInt, nioCore, nioPosix]
        ),
        .testTarget(
            name: "KilnPipelineTests",
            dependencies: [
                "KilnPipeline", "KilnAVS", "KilnContent", "KilnCore", "KilnCrypto", "KilnImage", "KilnInference",
                "KilnStore", "KilnTemplates",
                "KilnTesting", "KilnYAML", bigInt, logging,
            ]
        ),
        .testTarget(
            name: "KilnChainTests",
            dependencies: [
                "KilnChain", "KilnCore", "KilnCrypto", "KilnTesting", bigInt,
            ]
        ),
        .testTarget(
            name: "KilnServerTests",
            dependencies: [
                "KilnServer", "KilnContent", "KilnCore", "KilnInference", "KilnPipeline", "KilnStore", "KilnTesting",
                hummingbird, hummingbirdTesting, httpTypes, logging, mustache, nioCore,
            ]
        ),
        .testTarget(
            name: "KilnFuzzTests",
            dependencies: ["KilnFuzz", "KilnTesting"]
        ),
        .testTarget(
            name: "kilnTests",
            dependencies: [
                "KilnCore", "KilnCrypto", "KilnStore", "KilnTesting", "KilnAVS", "KilnChain", "KilnContent",
                "KilnInference", "KilnImage", "KilnPipeline", bigInt,
                logging,
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)

// MARK: - STANDARD SETTINGS
// Applied to every Swift target, as swift-nio's "STANDARD CROSS-REPO SETTINGS" block does.
for target in package.targets where target.type != .system && target.name != "CKilnShims" {
    var settings = target.swiftSettings ?? []
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0335-existential-any.md
    settings.append(.enableUpcomingFeature("ExistentialAny"))
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0444-member-import-visibility.md
    settings.append(.enableUpcomingFeature("MemberImportVisibility"))
    // https://github.com/swiftlang/swift-evolution/blob/main/proposals/0409-access-level-on-imports.md
    settings.append(.enableUpcomingFeature("InternalImportsByDefault"))
    target.swiftSettings = settings
}

// MARK: - FUZZING
// scripts/dev/fuzz.sh builds with KILN_FUZZ=1: Kiln's own modules get libFuzzer's coverage instrumentation and
// AddressSanitizer (the C shims that call libpng and libjpeg included; dependencies are built as usual), and
// kiln-fuzz becomes a libFuzzer binary instead of the corpus runner.
if Context.environment["KILN_FUZZ"] == "1" {
    let fuzzed = Set([
        "KilnCore", "KilnCrypto", "KilnImage", "KilnContent", "KilnYAML", "KilnTemplates", "KilnInference", "KilnAVS",
        "KilnChain", "KilnStore", "KilnPipeline", "KilnFuzz", "kiln-fuzz",
    ])
    for target in package.targets where fuzzed.contains(target.name) {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-sanitize=fuzzer,address"])]
    }
    for target in package.targets where target.name == "CKilnShims" {
        target.cSettings = (target.cSettings ?? []) + [.unsafeFlags(["-fsanitize=fuzzer-no-link,address"])]
    }
    for target in package.targets where target.name == "kiln-fuzz" {
        target.swiftSettings = (target.swiftSettings ?? []) + [.unsafeFlags(["-parse-as-library", "-DKILN_FUZZ"])]
        // libFuzzer without its main (SwiftPM links an executable's main as kiln_fuzz_main, which runs
        // libFuzzer's driver); scripts/dev/fuzz.sh finds the library in the toolchain.
        let libFuzzer = Context.environment["KILN_FUZZ_LIBRARY"] ?? "libclang_rt.fuzzer_no_main-x86_64.a"
        target.linkerSettings =
            (target.linkerSettings ?? []) + [.unsafeFlags(["-sanitize=address", "-Xlinker", libFuzzer])]
    }
}
