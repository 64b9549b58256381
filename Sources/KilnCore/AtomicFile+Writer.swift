// Kiln — Apache-2.0. See LICENSE.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

extension AtomicFile {
    /// Writes a large file in pieces to a temporary file beside its destination; ``commit()`` flushes and
    /// renames it into place. Dropping the writer without committing removes the temporary file.
    public final class Writer {
        /// The file the writer will replace when committed.
        public let path: String
        private let temporary: String
        private var file: UnsafeMutablePointer<FILE>?
        /// Bytes written so far.
        public private(set) var count = 0

        /// Opens a temporary file beside `path`.
        /// - Throws: ``WriteError`` when it cannot be created.
        public init(path: String) throws(WriteError) {
            self.path = path
            let directory = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
            let name = path.split(separator: "/").last.map(String.init) ?? path
            var template = Array("\(directory.isEmpty ? "/" : directory)/.\(name).tmp-XXXXXX".utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0, let file = fdopen(fd, "wb") else {
                throw WriteError(
                    path: path,
                    description:
                        "Unable to create a temporary file beside '\(path)': \(String(cString: strerror(errno)))"
                )
            }
            self.file = file
            temporary = template.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
        }

        /// Appends `bytes`.
        public func write(_ bytes: some Collection<UInt8>) throws(WriteError) {
            let array = Array(bytes)
            // `withUnsafeBytes` only rethrows untyped errors: the typed one rides out in a `Result`.
            try array.withUnsafeBytes { buffer in Result { () throws(WriteError) in try write(buffer) } }.get()
        }

        /// Appends the bytes of `buffer` (no copy: a large file copied in slices).
        public func write(_ buffer: UnsafeRawBufferPointer) throws(WriteError) {
            guard let file, !buffer.isEmpty else { return }
            let written = fwrite(buffer.baseAddress, 1, buffer.count, file)
            guard written == buffer.count else {
                let code = errno
                throw WriteError(
                    path: path,
                    description: "Unable to write '\(path)': \(String(cString: strerror(code)))",
                    code: code
                )
            }
            count += written
        }

        /// Flushes to disk, renames the file into place (mode `0644`) and flushes its folder — or leaves that to
        /// the caller (`syncFolder: false`), who renames several files into one folder and flushes it once
        /// (``AtomicFile/syncFolder(of:)``).
        public func commit(syncFolder: Bool = true) throws(WriteError) {
            guard let file else { return }
            self.file = nil
            let fd = fileno(file)
            let ok = fflush(file) == 0 && fchmod(fd, 0o644) == 0 && fsync(fd) == 0
            fclose(file)
            guard ok, rename(temporary, path) == 0 else {
                let code = errno
                unlink(temporary)
                throw WriteError(
                    path: path,
                    description: "Unable to write '\(path)': \(String(cString: strerror(code)))",
                    code: code
                )
            }
            if syncFolder { try AtomicFile.syncFolder(of: path) }
        }

        deinit {
            if let file {
                fclose(file)
                unlink(temporary)
            }
        }
    }
}
