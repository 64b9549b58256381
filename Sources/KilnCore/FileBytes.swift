// Kiln — Apache-2.0. See LICENSE.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reading a whole file, bounded: the one place Kiln does it.
public enum FileBytes {
    /// Why a file could not be read.
    ///
    /// A documented exception to "one error struct per domain": the two outcomes of a primitive whose every caller
    /// wraps them in its own domain's error, naming the file and what it was for (a template asset, a key, events).
    public enum Failure: Error, Sendable {
        /// The file can't be opened or read; the system's reason.
        case unreadable(String)
        /// The file is larger than the limit.
        case tooLarge(limit: Int)
    }

    /// The bytes of the file at `path`, at most `limit` of them.
    public static func read(_ path: String, limit: Int = 256 << 20) throws(Failure) -> [UInt8] {
        guard let file = fopen(path, "rb") else { throw .unreadable(String(cString: strerror(errno))) }
        defer { fclose(file) }
        // A regular file of known size is read in one go into an array of that size (no copy per chunk); anything
        // else (a pipe, a file still growing) in chunks after that.
        var info = stat()
        var bytes: [UInt8] = []
        if fstat(fileno(file), &info) == 0, info.st_mode & S_IFMT == S_IFREG, info.st_size > 0 {
            let size = Int(info.st_size)
            if size > limit { throw .tooLarge(limit: limit) }
            var count = 0
            bytes = [UInt8](unsafeUninitializedCapacity: size) { buffer, initialized in
                count = fread(buffer.baseAddress, 1, size, file)
                initialized = count
            }
            if count < size {
                if ferror(file) != 0 { throw .unreadable(String(cString: strerror(errno))) }
                return bytes  // it shrank meanwhile: what was there
            }
        }
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes.append(contentsOf: chunk[..<count]) }
            if bytes.count > limit { throw .tooLarge(limit: limit) }
            if count < chunk.count {
                if ferror(file) != 0 { throw .unreadable(String(cString: strerror(errno))) }
                return bytes
            }
        }
    }
}
