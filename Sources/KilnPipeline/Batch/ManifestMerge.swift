// Kiln — Apache-2.0. See LICENSE.

internal import KilnCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `manifest.json` brought up to date by merging: the file the last batch wrote is copied through, and the entries
/// of the tokens published since are put in their places. Its bytes are those of writing it whole from the store
/// (canonical JSON: one object whose entries are in key order; `ManifestMergeTests` compares the two), at the cost
/// of copying the file rather than reading and encoding every publication of the history.
///
/// The entries are scanned, not parsed as JSON: Kiln wrote the file, its keys are `chainId:Contract#id` and its
/// values objects of strings and one array of strings (`ipfs://` URIs), with no brace inside. Anything else — another
/// head (an older Kiln or another profile), keys out of order, a byte out of place — makes ``merge`` answer false,
/// and the caller writes the manifest whole.
enum ManifestMerge {
    /// One token's entry: its key (the text between the quotes) and its canonical JSON, `"key":{…}`.
    struct Entry: Sendable {
        var key: [UInt8]
        var bytes: [UInt8]
    }

    /// Writes the manifest at `path` with `changed` (sorted by key, no key twice) merged in: `head`, the entries,
    /// `}}`. Returns false when the file is not a manifest this can merge into; `writer` then holds part of it and
    /// must be dropped.
    /// - Throws: a ``AtomicFile/WriteError`` from `writer`.
    static func merge(old path: String, head: [UInt8], changed: [Entry], into writer: AtomicFile.Writer) throws -> Bool
    {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        var info = stat()
        guard fstat(fd, &info) == 0, info.st_size > 0 else {
            close(fd)
            return false
        }
        let count = Int(info.st_size)
        // Mapped, not read: the kernel pages it in as the scan goes (the file is replaced by rename, never truncated).
        let mapped = mmap(nil, count, PROT_READ, MAP_PRIVATE, fd, 0)
        close(fd)
        guard let mapped, mapped != MAP_FAILED else { return false }
        defer { munmap(mapped, count) }
        _ = madvise(mapped, count, MADV_SEQUENTIAL)
        return try merge(
            UnsafeRawBufferPointer(start: mapped, count: count),
            head: head,
            changed: changed,
            into: writer
        )
    }

    /// `window`: how many bytes of unchanged entries are copied at a time (tests make it small).
    static func merge(
        _ old: UnsafeRawBufferPointer,
        head: [UInt8],
        changed: [Entry],
        into writer: AtomicFile.Writer,
        window: Int = Self.window
    ) throws -> Bool {
        let bytes = old.bindMemory(to: UInt8.self)
        let n = bytes.count
        guard let base = old.baseAddress, n >= head.count + 2, head.elementsEqual(bytes[..<head.count]) else {
            return false
        }
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ","), close = UInt8(ascii: "}")
        /// The index of the first `byte` at or after `from`.
        func find(_ byte: UInt8, from: Int) -> Int? {
            guard from < n, let found = memchr(base + from, Int32(byte), n - from) else { return nil }
            return base.distance(to: UnsafeRawPointer(found))
        }
        /// Byte order of two keys (canonical JSON's order for ASCII keys: UTF-16 code units).
        func order(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
            guard let left = a.baseAddress, let right = b.baseAddress else { return a.count - b.count }
            let common = memcmp(left, right, min(a.count, b.count))
            return common != 0 ? Int(common) : a.count - b.count
        }

        // Old entries not yet written, as one range of the file (their commas included); flushed whole.
        var run: Range<Int>?
        var wrote = false
        var next = 0
        func put(_ piece: UnsafeRawBufferPointer) throws {
            if wrote { try writer.write([comma]) }
            try writer.write(piece)
            wrote = true
        }
        func flush() throws {
            if let range = run { try put(UnsafeRawBufferPointer(rebasing: old[range])) }
            run = nil
        }
        // The pages before `upTo` are written or skipped: out of the process's memory (the page cache keeps them),
        // so a merge's resident memory is a window of the file, not the file.
        var released = 0
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        func release(upTo: Int) {
            let end = upTo / page * page
            guard end - released >= window else { return }
            _ = madvise(UnsafeMutableRawPointer(mutating: base + released), end - released, MADV_DONTNEED)
            released = end
        }

        try writer.write(head)
        var at = head.count
        if bytes[at] == close {
            guard n == at + 2, bytes[at + 1] == close else { return false }
        } else {
            var previous: Range<Int>?
            while true {
                guard at < n, bytes[at] == quote, let keyEnd = find(quote, from: at + 1), keyEnd + 2 < n,
                    bytes[keyEnd + 1] == UInt8(ascii: ":"), bytes[keyEnd + 2] == UInt8(ascii: "{"),
                    let valueEnd = find(close, from: keyEnd + 3)
                else { return false }
                let key = UnsafeRawBufferPointer(rebasing: old[(at + 1)..<keyEnd])
                if let previous, order(UnsafeRawBufferPointer(rebasing: old[previous]), key) >= 0 { return false }
                previous = (at + 1)..<keyEnd
                let end = valueEnd + 1
                var replaced = false
                while next < changed.count {
                    let relation = changed[next].key.withUnsafeBytes { order($0, key) }
                    if relation > 0 { break }
                    try flush()
                    try changed[next].bytes.withUnsafeBytes { try put($0) }
                    replaced = replaced || relation == 0
                    next += 1
                }
                if !replaced { run = (run?.lowerBound ?? at)..<end }
                if let range = run, range.count >= window { try flush() }
                release(upTo: run?.lowerBound ?? end)
                guard end < n else { return false }
                if bytes[end] == comma {
                    at = end + 1
                    continue
                }
                guard bytes[end] == close, n == end + 2, bytes[end + 1] == close else { return false }
                break
            }
        }
        try flush()
        for entry in changed[next...] { try entry.bytes.withUnsafeBytes { try put($0) } }
        try writer.write(Array("}}".utf8))
        return true
    }

    /// How much of the old file a merge copies at a time, and keeps mapped in memory at most (about).
    static let window = 8 << 20

    /// The file's identity: device, inode, size, modification and change times (nanoseconds). Renaming a new file
    /// into place, editing it or touching it changes it; nil when there is no file.
    static func stamp(of path: String) -> String? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        #if canImport(Darwin)
            let (modified, changed) = (info.st_mtimespec, info.st_ctimespec)
        #else
            let (modified, changed) = (info.st_mtim, info.st_ctim)
        #endif
        return "\(info.st_dev):\(info.st_ino):\(info.st_size):\(modified.tv_sec).\(modified.tv_nsec):"
            + "\(changed.tv_sec).\(changed.tv_nsec)"
    }
}
