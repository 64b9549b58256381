// Kiln — Apache-2.0. See LICENSE.

public import Foundation
public import KilnCore

/// The test bench's Infernet node stand-in (`scripts/standins/infernet_node_standin.py`) on a loopback port, configured by
/// an Infernet `config.json` written from `containers`. Stopped by ``stop()`` or when dropped.
public final class InfernetStandin: Sendable {
    /// Its base URL, e.g. `http://127.0.0.1:40123`.
    public let url: String
    private let service: ServiceProcess

    /// Writes `config.json` into `folder` (server rate limit, the container entries as given) and starts the
    /// stand-in on `port` (0: any free port); `stall` names containers whose jobs never finish.
    public init(
        containers: [JSONValue],
        folder: URL,
        port: Int = 0,
        rateLimit: (requests: Int, period: Int) = (60, 60),
        stall: [String] = []
    ) async throws {
        let config: JSONValue = [
            "server": [
                "port": 4000,
                "rate_limit": ["num_requests": .number(rateLimit.requests), "period": .number(rateLimit.period)],
            ],
            "chain": ["enabled": false], "manage_containers": false, "redis": ["host": "localhost", "port": 6379],
            "containers": .array(containers),
        ]
        let file = folder.appendingPathComponent("infernet-config-\(UUID().uuidString).json")
        try Data(try config.canonicalBytes()).write(to: file)
        let script = PythonBench.packageRoot.appendingPathComponent("scripts/standins/infernet_node_standin.py").path
        service = try await ServiceProcess.start(
            PythonBench.python,
            [script, "--config", file.path, "--port", String(port)] + stall.flatMap { ["--test-stall", $0] },
            name: "the Infernet node stand-in",
            timeout: 20,
            accept: { $0.hasPrefix("http://") }
        )
        url = service.firstLine
    }

    /// Its port.
    public var port: Int { Int(url.split(separator: ":").last ?? "") ?? 0 }

    /// Kills it at once.
    public func stop() { service.stop() }
}
