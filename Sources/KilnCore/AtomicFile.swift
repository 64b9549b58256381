// Kiln — Apache-2.0. See LICENSE.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writing files so that readers see either the old file or the whole new one, never half of it.
public enum AtomicFile {
    /// An error writing `path`; the message names the path and the system's reason.
    ///
    /// A documented exception to "one error struct per domain": KilnCore's one writer reports the system's `errno`
    /// (``isEnvironmental`` decides whether a batch halts); the modules that write pass it on, or keep it as the
    /// cause of their own error.
    public struct WriteError: Error, CustomStringConvertible, Sendable {
        /// The file that was being written.
        public var path: String
        /// What went wrong.
        public var description: String
        /// The system's error number (`errno`), when the system refused.
        public var code: Int32 = 0

        /// Whether the disk or file system refused the write — full, over quota, read-only, an I/O error, no
        /// permission — rather than anything about what was written: trying again helps only once someone acts.
        public var isEnvironmental: Bool { AtomicFile.isEnvironmental(code) }
    }

    /// Whether `errno` means the disk or file system refused a write (see ``WriteError/isEnvironmental``).
    public static func isEnvironmental(_ code: Int32) -> Bool {
        [ENOSPC, EDQUOT, EROFS, EIO, EACCES, EPERM].contains(code)
    }

    /// Writes `bytes` to a temporary file beside `path`, flushes it to disk, renames it over `path`, then flushes
    /// the folder, so that the rename itself survives a power cut (a renamed file is only durable once its
    /// directory entry is).
    /// - Parameters:
    ///   - mode: the new file's permission bits (default `0644`).
    ///   - syncFolder: `false` leaves the folder's flush to the caller, who writes many files into one folder and
    ///     flushes it once (``syncFolder(of:)``) before recording them anywhere — a blockstore does, once per job.
    /// - Throws: ``WriteError``; on failure the temporary file is removed and `path` is untouched.
    public static func write(
        _ bytes: some Collection<UInt8>,
        to path: String,
        mode: UInt32 = 0o644,
        syncFolder: Bool = true
    ) throws(WriteError) {
        let bytes = Array(bytes)
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let name = path.split(separator: "/").last.map(String.init) ?? path
        var template = Array("\(directory.isEmpty ? "/" : directory)/.\(name).tmp-XXXXXX".utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw failure(path, "Unable to create a temporary file beside '\(path)'") }
        let temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        var written = 0
        while written < bytes.count {
            let result = bytes.withUnsafeBytes { systemWrite(fd, $0.baseAddress! + written, $0.count - written) }
            if result < 0 {
                if errno == EINTR { continue }
                let error = failure(path, "Unable to write '\(path)'")
                close(fd)
                unlink(temporary)
                throw error
            }
            written += result
        }
        guard fchmod(fd, mode_t(mode)) == 0, fsync(fd) == 0 else {
            let error = failure(path, "Unable to write '\(path)'")
            close(fd)
            unlink(temporary)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else {
            let error = failure(path, "Unable to replace '\(path)'")
            unlink(temporary)
            throw error
        }
        if syncFolder { try Self.syncFolder(of: path) }
    }

    /// Flushes the folder that holds `path` to disk: its renames and new entries become durable.
    /// - Throws: ``WriteError`` naming the folder.
    public static func syncFolder(of path: String) throws(WriteError) {
        let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        try sync(folder: directory.isEmpty ? "/" : directory)
    }

    /// Flushes `folder` itself (its entries) to disk.
    /// - Throws: ``WriteError`` naming the folder.
    public static func sync(folder: String) throws(WriteError) {
        let fd = open(folder, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else { throw failure(folder, "Unable to open the folder '\(folder)' to flush it") }
        defer { close(fd) }
        // EINVAL: a file system that cannot flush a directory (some network and FUSE mounts) has nothing to do.
        guard fsync(fd) == 0 || errno == EINVAL else { throw failure(folder, "Unable to flush the folder '\(folder)'") }
    }

    private static func failure(_ path: String, _ message: String) -> WriteError {
        let code = errno
        return WriteError(path: path, description: "\(message): \(String(cString: strerror(code)))", code: code)
    }
}

#if canImport(Glibc)
    private let systemWrite = Glibc.write
#else
    private let systemWrite = Darwin.write
#endif
