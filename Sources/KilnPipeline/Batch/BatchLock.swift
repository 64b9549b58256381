// Kiln — Apache-2.0. See LICENSE.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// One batch per store: an exclusive `flock` on `<store>.lock`, released when the process ends (however it
/// ends: the kernel drops the lock of a killed process, so a crash never leaves the store locked).
public final class BatchLock: Sendable {
    /// The lock file (`<store>.lock`).
    public let path: String
    private let descriptor: Int32

    private init(path: String, descriptor: Int32) {
        self.path = path
        self.descriptor = descriptor
    }

    /// Takes the lock, or returns nil when another process holds it.
    public static func acquire(store: String) throws(PipelineError) -> BatchLock? {
        let path = store + ".lock"
        // The store's folder may not exist yet on a first run.
        var folder = ""
        for part in store.split(separator: "/", omittingEmptySubsequences: false).dropLast() {
            folder += (folder.isEmpty && !store.hasPrefix("/") ? "" : "/") + part
            if !folder.isEmpty && folder != "/" { mkdir(folder, 0o755) }
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw PipelineError("Unable to open the lock file '\(path)': \(String(cString: strerror(errno)))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            close(fd)
            if errno == EWOULDBLOCK { return nil }
            throw PipelineError("Unable to lock '\(path)': \(String(cString: strerror(errno)))")
        }
        return BatchLock(path: path, descriptor: fd)
    }

    /// Waits (polling, so no thread is blocked) until the lock is free, then takes it.
    public static func wait(store: String, poll: Duration = .milliseconds(200)) async throws -> BatchLock {
        while true {
            if let lock = try acquire(store: store) { return lock }
            try await Task.sleep(for: poll)
        }
    }

    deinit {
        flock(descriptor, LOCK_UN)
        close(descriptor)
    }
}
