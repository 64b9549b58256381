// Kiln — Apache-2.0. See LICENSE.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// An exclusive `flock` on a file, released when the ``StoreLock`` is dropped or the process ends (however it ends:
/// the kernel drops the lock of a killed process, so a crash never leaves the store locked).
enum FileLock {
    /// Takes the lock on `path`, waiting (blocking the calling thread) while another process holds it: only for
    /// locks held for moments.
    static func lockBlocking(_ path: String) throws(StoreError) -> StoreLock {
        try lock(path, wait: true)!
    }

    /// Takes the lock on `path` (created, with its folder), or returns nil when another process holds it.
    static func tryLock(_ path: String) throws(StoreError) -> StoreLock? {
        try lock(path, wait: false)
    }

    private static func lock(_ path: String, wait: Bool) throws(StoreError) -> StoreLock? {
        // The store's folder may not exist yet on a first run.
        var folder = ""
        for part in path.split(separator: "/", omittingEmptySubsequences: false).dropLast() {
            folder += (folder.isEmpty && !path.hasPrefix("/") ? "" : "/") + part
            if !folder.isEmpty && folder != "/" { mkdir(folder, 0o755) }
        }
        let fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            throw StoreError(.open, "Unable to open the lock file '\(path)': \(String(cString: strerror(errno)))")
        }
        guard flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) == 0 else {
            let error = errno
            close(fd)
            if error == EWOULDBLOCK { return nil }
            throw StoreError(.open, "Unable to lock '\(path)': \(String(cString: strerror(error)))")
        }
        return StoreLock(description: path) {
            flock(fd, LOCK_UN)
            close(fd)
        }
    }
}
