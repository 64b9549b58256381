// Kiln — Apache-2.0. See LICENSE.

public import BigInt
public import KilnCore
public import KilnCrypto
public import KilnInference
internal import Logging

/// Four operators with stakes 40/30/20/10 (in units of 10¹⁸ wei), each an operator node served by this process on
/// loopback (``LocalNodes``: the node's own Hummingbird application, real HTTP). The tests that need a `kiln node
/// serve` process (signals, flags, a killed node) are in `kilnTests`.
public final class Cluster: Sendable {
    public let nodes: [LocalNodes.Node]
    public let keys: [PrivateKey]
    public let contract = try! Address(hex: "0x00000000000000000000000000000000000000C0")
    public static let stakes: [BigUInt] = [40, 30, 20, 10].map { BigUInt($0) * BigUInt(10).power(18) }
    private let running: LocalNodes

    /// `faults[i]` is the ``TestFault`` of node i (nil for honest; a slow node waits 300 s); `configure` sets
    /// anything else on every node's configuration (limits, timeouts, a token).
    public init(faults: [TestFault?], configure: (inout NodeConfiguration) -> Void = { _ in }) async throws {
        keys = faults.indices.map { PrivateKey.test($0 + 1) }
        var logger = Logger(label: "kiln.test.cluster")
        logger.logLevel = .critical
        running = try await LocalNodes.start(
            keys: Array(zip(keys, faults)),
            domain: .kiln(chainId: 31337, verifyingContract: contract),
            logger: logger,
            configure: { _, configuration in
                configuration.slowDelay = .seconds(300)
                configure(&configuration)
            }
        )
        nodes = running.nodes
    }

    public func stop() { running.stop() }
}

/// A `kiln/cppn-v1` job of 40×40 pixels for the cluster's tests.
public func job(_ n: UInt64 = 1, seed: Int = 5) -> JobRequest {
    JobRequest(
        jobId: Bytes32(word: n),
        model: "kiln/cppn-v1",
        input: ["seed": .number(seed), "width": 40, "height": 40],
        referenceBlock: 7
    )
}
