// Kiln — Apache-2.0. See LICENSE.

public import Foundation

/// A real `kiln node serve` process on a free loopback port, for tests. Stopped by ``stop()`` or when dropped.
public final class NodeProcess: Sendable {
    public let url: String
    public let address: String
    private let service: ServiceProcess

    /// Starts a node with a key written to a 0600 file in `folder`, on `port` (0: a free one); waits until it
    /// says it is listening.
    public init(key: String, folder: URL, port: Int = 0, arguments: [String] = []) async throws {
        let keyFile = folder.appendingPathComponent("key-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(
            atPath: keyFile,
            contents: Data(key.utf8),
            attributes: [.posixPermissions: 0o600]
        )
        service = try await ServiceProcess.start(
            KilnProcess.executable,
            ["node", "serve", "--key", keyFile, "--port", String(port), "--max-concurrent", "2"] + arguments,
            name: "kiln node serve",
            timeout: 20,
            accept: { $0.hasPrefix("listening on ") }
        )
        let parts = service.firstLine.split(separator: " ")
        url = String(parts[2])
        address = String(parts.last ?? "")
    }

    /// Kills the node at once.
    public func stop() { service.stop() }

    /// The CPU time the node has used so far (see ``ServiceProcess/cpuSeconds``).
    public var cpuSeconds: Double? { service.cpuSeconds }
}
