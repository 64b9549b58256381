// Kiln — Apache-2.0. See LICENSE.

public import Foundation

/// A real `kiln node serve` process on a free loopback port, for tests. Stopped by ``stop()`` or when dropped.
public final class NodeProcess: @unchecked Sendable {
    // @unchecked: the process handle is only touched in init and stop, which tests call from one task.
    public let url: String
    public let address: String
    private let process: Process

    /// Starts a node with a key written to a 0600 file in `folder`; waits until it says it is listening.
    public init(key: String, folder: URL, arguments: [String] = []) throws {
        let keyFile = folder.appendingPathComponent("key-\(UUID().uuidString)").path
        _ = FileManager.default.createFile(atPath: keyFile, contents: Data(key.utf8), attributes: [.posixPermissions: 0o600])
        process = Process()
        process.executableURL = KilnProcess.executable
        process.arguments = ["node", "serve", "--key", keyFile, "--port", "0", "--max-concurrent", "2"] + arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Read until the "listening on" line (bounded: 20 s).
        var text = ""
        let deadline = Date().addingTimeInterval(20)
        while !text.contains("\n") && Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = text.split(separator: "\n").first, line.hasPrefix("listening on ") else {
            process.terminate()
            throw PythonBench.Failure(description: "kiln node serve did not start: \(text)")
        }
        let parts = line.split(separator: " ")
        url = String(parts[2])
        address = String(parts.last ?? "")
    }

    /// Kills the node at once (SIGKILL): a graceful stop would wait for jobs a test node may be sleeping in.
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
