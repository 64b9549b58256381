// Kiln — Apache-2.0. See LICENSE.

public import Foundation

/// A long-running child process for tests that announces itself with one line on stdout (its URL): a node, the
/// dev chain, a test server. Killed by ``stop()`` or when dropped.
public final class ServiceProcess: @unchecked Sendable {
    // @unchecked: the process handle is only touched in init and stop, which tests call from one task.
    /// The first line it printed.
    public let firstLine: String
    private let process = Process()
    private let printed = OutputTail()

    /// The last 64 KiB it printed on stdout so far (for a test's failure message).
    public var output: String { printed.text }

    /// Starts `executable` and waits (at most `timeout` seconds) for its first line; `accept` decides whether
    /// that line means it started (by default any line but an empty one: a child that exited, or closed its stdout,
    /// without a word did not start); `errors` receives its stderr (else discarded). The wait runs on a thread of its
    /// own (see ``offPool(_:)``).
    public static func start(
        _ executable: URL,
        _ arguments: [String],
        name: String,
        timeout: TimeInterval = 60,
        environment: [String: String] = [:],
        directory: URL? = nil,
        errors: URL? = nil,
        accept: @escaping @Sendable (String) -> Bool = { !$0.isEmpty }
    ) async throws -> ServiceProcess {
        try await offPool {
            try ServiceProcess(
                executable,
                arguments,
                name: name,
                timeout: timeout,
                environment: environment,
                directory: directory,
                errors: errors,
                accept: accept
            )
        }
    }

    /// ``start(_:_:name:timeout:environment:directory:errors:accept:)``, blocking the calling thread.
    init(
        _ executable: URL,
        _ arguments: [String],
        name: String,
        timeout: TimeInterval = 60,
        environment: [String: String] = [:],
        directory: URL? = nil,
        errors: URL? = nil,
        accept: (String) -> Bool = { !$0.isEmpty }
    ) throws {
        process.executableURL = executable
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        }
        if let directory { process.currentDirectoryURL = directory }
        let output = Pipe()
        process.standardOutput = output
        if let errors {
            // Its stderr (logs) to a file the caller reads afterwards; a pipe nobody reads would fill and block it.
            _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
            process.standardError = try FileHandle(forWritingTo: errors)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        // Read the first line on a thread of its own, so the timeout holds even when the child prints nothing
        // (a blocking read can't be interrupted); a child that stays silent is killed, which ends the read.
        // The thread goes on reading to the end (keeping the last 64 KiB, see ``output``): a pipe nobody drains
        // fills after 64 KiB and blocks a chatty child mid-write, which then hangs whatever waits on it.
        let text = FirstLine()
        let handle = output.fileHandleForReading
        let done = DispatchSemaphore(value: 0)
        Thread.detachNewThread { [printed] in
            var line = ""
            while !line.contains("\n") {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                line += String(decoding: chunk, as: UTF8.self)
            }
            text.set(line)
            printed.append(Data(line.utf8))
            done.signal()
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                printed.append(chunk)
            }
        }
        if done.wait(timeout: .now() + timeout) == .timedOut {
            firstLine = ""
            stop()
            throw PythonBench.Failure(description: "\(name) printed no line within \(Int(timeout)) s")
        }
        firstLine = text.get().split(separator: "\n").first.map(String.init) ?? ""
        guard accept(firstLine) else {
            stop()
            throw PythonBench.Failure(description: "\(name) did not start: \(text.get())")
        }
    }

    /// Kills it at once (SIGKILL: a child started by Foundation's Process may have SIGTERM blocked, and a node
    /// may be sleeping in a test job).
    ///
    /// It waits until the kernel has ended the child (a zombie, or reaped), read from /proc, not with Foundation's
    /// `waitUntilExit`: that spins on the calling thread until Foundation's child monitor, which runs on
    /// Dispatch's global queue, has reaped the child. Tests call `stop()` from async code (their `defer`s), on
    /// Swift's cooperative pool, which on Linux shares those threads: with a stop on each of CI's two threads at
    /// once, nothing was left to run the monitor, and a clean-clone run spun there for ten minutes.
    public func stop() {
        guard process.isRunning else { return }
        let pid = process.processIdentifier
        kill(pid, SIGKILL)
        let deadline = Date().addingTimeInterval(10)
        while Self.isAlive(pid) && Date() < deadline { usleep(2_000) }
    }

    /// Whether `pid` is still running: its /proc entry exists and is not a zombie (state `Z`) or dead (`X`).
    static func isAlive(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return false }
        let state = stat[stat.index(after: close)...].drop { $0 == " " }.first
        return state != "Z" && state != "X"
    }

    /// The CPU time it has used so far (user + system, from /proc; nil where that is not readable): unlike wall
    /// time, it does not grow when other processes keep the machine busy.
    public var cpuSeconds: Double? {
        guard let stat = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        // Fields after "(comm)": state is field 3; utime and stime are fields 14 and 15 (in clock ticks).
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        guard fields.count > 13, let user = Double(fields[11]), let system = Double(fields[12]) else { return nil }
        return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Its process id.
    public var pid: Int32 { process.processIdentifier }

    /// Its exit status, once it has exited.
    public var exitStatus: Int32? { process.isRunning ? nil : process.terminationStatus }

    /// Asks it to stop (SIGTERM), as systemd or Kubernetes would; see ``waitForExit(timeout:)``.
    public func terminate() {
        if process.isRunning { kill(process.processIdentifier, SIGTERM) }
    }

    /// Waits (on a thread of its own) until it has exited by itself, at most `timeout` seconds; returns whether
    /// it did and, if so, whether a signal ended it.
    public func waitForExit(timeout: TimeInterval) async -> (exited: Bool, signaled: Bool) {
        let result = try? await offPool { [self] () -> (Bool, Bool) in
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { usleep(50_000) }
            if process.isRunning { return (false, false) }
            return (true, process.terminationReason == .uncaughtSignal)
        }
        return result ?? (false, false)
    }

    /// Waits (on a thread of its own) until what it printed contains `text`, at most `timeout` seconds; false
    /// once it has exited without printing it, or at the timeout. For a second line after ``firstLine``.
    public func waitForOutput(_ text: String, timeout: TimeInterval = 60) async -> Bool {
        let result = try? await offPool { [self] () -> Bool in
            let deadline = Date().addingTimeInterval(timeout)
            while Date() < deadline {
                if printed.text.contains(text) { return true }
                if !process.isRunning { return printed.text.contains(text) }
                usleep(20_000)
            }
            return false
        }
        return result ?? false
    }

    deinit { stop() }
}

/// Hand-off of the first line between the reading thread and the caller.
private final class FirstLine: @unchecked Sendable {
    // @unchecked: every access goes through the lock.
    private let lock = NSLock()
    private var text = ""
    func set(_ value: String) { lock.withLock { text = value } }
    func get() -> String { lock.withLock { text } }
}

/// The last bytes a child printed, appended by its reader thread.
private final class OutputTail: @unchecked Sendable {
    // @unchecked: every access goes through the lock.
    private let lock = NSLock()
    private var data = Data()
    private let limit = 64 << 10
    func append(_ chunk: Data) {
        lock.withLock {
            data.append(chunk)
            if data.count > limit { data = Data(data.suffix(limit)) }
        }
    }
    var text: String { lock.withLock { String(decoding: data, as: UTF8.self) } }
}
