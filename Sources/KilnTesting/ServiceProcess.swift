// Kiln — Apache-2.0. See LICENSE.

public import Foundation

/// A long-running child process for tests that announces itself with one line on stdout (its URL): a node, the
/// dev chain, a test server. Killed by ``stop()`` or when dropped.
public final class ServiceProcess: @unchecked Sendable {
    // @unchecked: the process handle is only touched in init and stop, which tests call from one task.
    /// The first line it printed.
    public let firstLine: String
    private let process = Process()

    /// Starts `executable` and waits (at most `timeout` seconds) for its first line; `accept` decides whether
    /// that line means it started.
    public init(
        _ executable: URL,
        _ arguments: [String],
        name: String,
        timeout: TimeInterval = 60,
        accept: (String) -> Bool = { _ in true }
    ) throws {
        process.executableURL = executable
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        let deadline = Date().addingTimeInterval(timeout)
        while !text.contains("\n") && Date() < deadline {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        firstLine = text.split(separator: "\n").first.map(String.init) ?? ""
        guard accept(firstLine) else {
            stop()
            throw PythonBench.Failure(description: "\(name) did not start: \(text)")
        }
    }

    /// Kills it at once (SIGKILL: a child started by Foundation's Process may have SIGTERM blocked, and a node
    /// may be sleeping in a test job).
    public func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    deinit { stop() }
}
