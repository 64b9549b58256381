// Kiln — Apache-2.0. See LICENSE.

public import Foundation

/// Runs the built `kiln` executable, as a user would from a shell.
public enum KilnProcess {
    /// What one run printed and how it ended.
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        /// True when a signal ended the process (`status` is then the signal number).
        public var signaled = false
    }

    /// The `kiln` binary beside the test bundle (both are products of the same build).
    public static var executable: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent(
            "kiln"
        )
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return PythonBench.packageRoot.appendingPathComponent(".build/debug/kiln")
    }

    /// Runs `kiln` (or another `program`) with `arguments`, feeding `stdin`, in `directory` (default: a new
    /// temporary folder), killing it past `timeout` seconds when one is given.
    /// Awaits the run on a thread of its own (see ``offPool(_:)``).
    public static func run(
        _ arguments: [String],
        stdin: String = "",
        in directory: URL? = nil,
        environment: [String: String] = [:],
        program: URL? = nil,
        timeout: TimeInterval? = nil
    ) async throws -> Result {
        try await offPool {
            try runBlocking(
                arguments,
                stdin: stdin,
                in: directory,
                environment: environment,
                program: program,
                timeout: timeout
            )
        }
    }

    /// ``run(_:stdin:in:environment:program:timeout:)``, blocking the calling thread: only for threads of one's own.
    public static func runBlocking(
        _ arguments: [String],
        stdin: String = "",
        in directory: URL? = nil,
        environment: [String: String] = [:],
        program: URL? = nil,
        timeout: TimeInterval? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = program ?? executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        process.currentDirectoryURL = directory ?? FileManager.default.temporaryDirectory
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        // Past `timeout` it is killed (SIGKILL), so a hang fails the test with what it printed instead of holding
        // the whole test run; the result then says `signaled`.
        let pid = process.processIdentifier
        let killer = DispatchWorkItem { kill(pid, SIGKILL) }
        if let timeout { DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer) }
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        // Drain stderr on its own thread so a chatty process cannot block on a full pipe while we read stdout.
        let errorData = ErrorBuffer()
        let drained = DispatchSemaphore(value: 0)
        let errorHandle = errors.fileHandleForReading
        DispatchQueue.global().async {
            errorData.set(errorHandle.readDataToEndOfFile())
            drained.signal()
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        let err = errorData.get()
        process.waitUntilExit()
        killer.cancel()
        return Result(
            status: process.terminationStatus,
            stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self),
            signaled: process.terminationReason == .uncaughtSignal
        )
    }
}

/// Hand-off of one `Data` between two threads.
private final class ErrorBuffer: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data { lock.withLock { data } }
}
