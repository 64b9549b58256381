// Kiln — Apache-2.0. See LICENSE.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Reading a whole file, bounded: the one place Kiln does it.
public enum FileBytes {
    /// Why a file could not be read.
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
        var bytes: [UInt8] = []
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
