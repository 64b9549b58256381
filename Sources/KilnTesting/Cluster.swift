// Kiln — Apache-2.0. See LICENSE.

public import BigInt
public import Foundation
public import KilnCore
public import KilnCrypto
public import KilnInference

/// Four operators with stakes 40/30/20/10 (in units of 10¹⁸ wei), each running a real `kiln node serve`.
public final class Cluster: @unchecked Sendable {
    // @unchecked: set up once in init, then only read.
    public let folder: URL
    public private(set) var nodes: [NodeProcess] = []
    public private(set) var keys: [PrivateKey] = []
    public let contract = try! Address(hex: "0x00000000000000000000000000000000000000C0")
    public static let stakes: [BigUInt] = [40, 30, 20, 10].map { BigUInt($0) * BigUInt(10).power(18) }

    /// `faults[i]` is the `--test-fault` of node i (nil for honest).
    public init(faults: [String?], extra: [String] = []) async throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cluster-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for (index, fault) in faults.enumerated() {
            let key = try PrivateKey(bytes: [UInt8](repeating: 0, count: 31) + [UInt8(index + 1)])
            keys.append(key)
            var arguments = ["--chain-id", "31337", "--verifying-contract", contract.checksummed] + extra
            if let fault { arguments += ["--test-fault", fault, "--slow-seconds", "90"] }
            nodes.append(
                try await NodeProcess(
                    key: "0x" + String(repeating: "0", count: 62) + String(format: "%02x", index + 1),
                    folder: folder,
                    arguments: arguments
                )
            )
        }
    }

    public func stop() {
        nodes.forEach { $0.stop() }
        try? FileManager.default.removeItem(at: folder)
    }
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
