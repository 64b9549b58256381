// Kiln — Apache-2.0. See LICENSE.

public import Foundation
public import KilnCore

/// `scripts/dev/devchain.py` (a real EVM behind JSON-RPC on loopback) as a subprocess, for tests; stopped by
/// ``stop()`` or when dropped. Its pre-funded test keys are in ``keyFile`` (mode 0600).
public final class DevChain: Sendable {
    public let url: String
    public let chainId: UInt64
    public let keyFile: String
    private let service: ServiceProcess

    public init(folder: URL) async throws {
        guard FileManager.default.isExecutableFile(atPath: PythonBench.python.path) else {
            throw PythonBench.Failure(
                description: "The test bench venv is missing (\(PythonBench.python.path)): run `bash .ci/run`"
            )
        }
        let keyFile = folder.appendingPathComponent("devchain-keys").path
        service = try await ServiceProcess.start(
            PythonBench.python,
            [
                PythonBench.packageRoot.appendingPathComponent("scripts/dev/devchain.py").path, "--port", "0",
                "--key-file",
                keyFile,
            ],
            name: "scripts/dev/devchain.py",
            accept: { (try? JSONValue.parse($0))?["url"]?.stringValue != nil }
        )
        let ready = try JSONValue.parse(service.firstLine)
        guard let url = ready["url"]?.stringValue,
            let id = ready["chainId"]?.integerValue.flatMap({ UInt64(exactly: $0) })
        else {
            throw PythonBench.Failure(
                description: "scripts/dev/devchain.py printed no url and chainId: \(service.firstLine)"
            )
        }
        self.url = url
        self.keyFile = keyFile
        chainId = id
    }

    /// Runs a `scripts/crosscheck/chain.py` operation against this chain (`url` and `keyFile` are added).
    public func run(_ op: String, _ fields: [String: JSONValue] = [:]) async throws -> JSONValue {
        var request = fields
        request["op"] = .string(op)
        request["url"] = .string(url)
        request["keyFile"] = .string(keyFile)
        return try await PythonBench.run("chain.py", .object(request))
    }

    /// A JSON-RPC call through the helper (for evm_snapshot, evm_revert, evm_mine).
    public func rpc(_ method: String, _ params: [JSONValue] = []) async throws -> JSONValue {
        try await run("rpc", ["method": .string(method), "params": .array(params)])["result"] ?? .null
    }

    public func stop() { service.stop() }
}
