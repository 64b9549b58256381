// Kiln — Apache-2.0. See LICENSE.

public import Foundation
public import KilnCore

/// `scripts/devchain.py` (a real EVM behind JSON-RPC on loopback) as a subprocess, for tests; stopped by
/// ``stop()`` or when dropped. Its pre-funded test keys are in ``keyFile`` (mode 0600).
public final class DevChain: @unchecked Sendable {
    // @unchecked: the process handle is only touched in init and stop, which tests call from one task.
    public let url: String
    public let chainId: UInt64
    public let keyFile: String
    private let process: Process

    public init(folder: URL) throws {
        keyFile = folder.appendingPathComponent("devchain-keys").path
        process = Process()
        process.executableURL = PythonBench.python
        process.arguments = [PythonBench.packageRoot.appendingPathComponent("scripts/devchain.py").path, "--port", "0", "--key-file", keyFile]
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        guard FileManager.default.isExecutableFile(atPath: PythonBench.python.path) else {
            throw PythonBench.Failure(description: "The test bench venv is missing (\(PythonBench.python.path)): run `bash .ci/run`")
        }
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while !text.contains("\n") && Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first, let ready = try? JSONValue.parse(String(line)),
            let url = ready["url"]?.stringValue, let id = ready["chainId"]?.integerValue.flatMap({ UInt64(exactly: $0) })
        else {
            process.terminate()
            throw PythonBench.Failure(description: "scripts/devchain.py did not start: \(text)")
        }
        self.url = url
        chainId = id
    }

    /// Runs a `scripts/crosscheck/chain.py` operation against this chain (`url` and `keyFile` are added).
    public func run(_ op: String, _ fields: [String: JSONValue] = [:]) throws -> JSONValue {
        var request = fields
        request["op"] = .string(op)
        request["url"] = .string(url)
        request["keyFile"] = .string(keyFile)
        return try PythonBench.run("chain.py", .object(request))
    }

    /// A JSON-RPC call through the helper (for evm_snapshot, evm_revert, evm_mine).
    public func rpc(_ method: String, _ params: [JSONValue] = []) throws -> JSONValue {
        try run("rpc", ["method": .string(method), "params": .array(params)])["result"] ?? .null
    }

    public func stop() {
        if process.isRunning {
            // SIGKILL: a child started by Foundation's Process may have SIGTERM blocked.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
