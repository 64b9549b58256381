// Kiln — Apache-2.0. See LICENSE.

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Imports files and folders into UnixFS DAGs, computing the same CIDs as kubo's `ipfs add` for the profile.
///
/// Files are read in chunks of the profile's size, never whole. Folders become UnixFS directories with links
/// sorted by name (byte-wise), HAMT-sharded past kubo's threshold; like `ipfs add -r`, names starting with `.`
/// are left out unless ``includeHidden`` is set. Symbolic links are refused (kubo would store them as UnixFS symlinks).
///
/// ```swift
/// var importer = Importer(profile: .kuboV1)
/// let root = try importer.add(path: "out/token-7")           // hash only
/// let stored = try importer.add(path: "out", into: blocks)    // and keep every block
/// ```
public struct Importer: Sendable {
    /// How files become DAGs.
    public var profile: ImportProfile
    /// Whether names starting with `.` are imported.
    public var includeHidden: Bool

    /// An importer with `profile`.
    public init(profile: ImportProfile = .kuboV1, includeHidden: Bool = false) {
        self.profile = profile
        self.includeHidden = includeHidden
    }

    /// The root of the DAG for the file or folder at `path`; blocks go to `blockstore` when one is given.
    public func add(path: String, into blockstore: (any Blockstore)? = nil) throws(ContentError) -> FileDAGBuilder.Entry
    {
        let store: (CID, [UInt8]) throws(ContentError) -> Void = { cid, block throws(ContentError) in
            try blockstore?.put(block, cid: cid)
        }
        return try add(path: path, store: store)
    }

    /// The root of the DAG for `bytes` held in memory.
    public func add(bytes: [UInt8], into blockstore: (any Blockstore)? = nil) throws(ContentError)
        -> FileDAGBuilder.Entry
    {
        var builder = FileDAGBuilder(profile: profile) { cid, block throws(ContentError) in
            try blockstore?.put(block, cid: cid)
        }
        var offset = 0
        repeat {
            let end = min(bytes.count, offset + profile.chunkSize)
            try builder.add(chunk: bytes[offset..<end])
            offset = end
        } while offset < bytes.count
        return try builder.finish()
    }

    /// A UnixFS directory of already-imported entries (name → root), stored in `blockstore` when given; past
    /// kubo's threshold (``ImportProfile/hamtThreshold``) it is HAMT-sharded as kubo shards it, so the root is the
    /// CID `ipfs add -r` gives for the same folder.
    /// `threshold` is kubo's `Internal.UnixFSShardingSizeThreshold`, in bytes.
    public func directory(
        _ entries: [String: FileDAGBuilder.Entry],
        into blockstore: (any Blockstore)? = nil,
        path: String = "<directory>",
        threshold: Int = ImportProfile.hamtThreshold
    )
        throws(ContentError) -> FileDAGBuilder.Entry
    {
        try directory(entries, path: path, threshold: threshold) { cid, block throws(ContentError) in
            try blockstore?.put(block, cid: cid)
        }
    }

    /// Like ``directory(_:into:path:)``, but at any size: when the entries would pass kubo's HAMT threshold they
    /// are split, in name order, into sub-directories named `FIRST_LAST` (the first and last name they hold),
    /// each well under the threshold, and so on up until one directory holds them all. Kiln uses it for a batch's
    /// `tokens/`, which can hold any number of tokens; every directory stays a plain UnixFS directory, so any
    /// IPFS implementation reads it and kubo gives the same CIDs for the same folders.
    public func groupedDirectory(
        _ entries: [String: FileDAGBuilder.Entry],
        into blockstore: (any Blockstore)? = nil,
        path: String = "<directory>"
    )
        throws(ContentError) -> FileDAGBuilder.Entry
    {
        func cost(_ name: String, _ entry: FileDAGBuilder.Entry) -> Int { name.utf8.count + entry.cid.bytes.count }
        if entries.reduce(0, { $0 + cost($1.key, $1.value) }) <= ImportProfile.hamtThreshold {
            return try directory(entries, into: blockstore, path: path)
        }
        let names = entries.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let budget = ImportProfile.hamtThreshold / 2
        var groups: [String: FileDAGBuilder.Entry] = [:]
        var group: [String: FileDAGBuilder.Entry] = [:]
        var first = "", last = "", size = 0
        func close() throws(ContentError) {
            guard !group.isEmpty else { return }
            groups["\(first)_\(last)"] = try directory(group, into: blockstore, path: "\(path)/\(first)_\(last)")
            group = [:]
            size = 0
        }
        for name in names {
            let entry = entries[name]!
            if size + cost(name, entry) > budget { try close() }
            if group.isEmpty { first = name }
            group[name] = entry
            last = name
            size += cost(name, entry)
        }
        try close()
        return try groupedDirectory(groups, into: blockstore, path: path)
    }

    // MARK: - Implementation

    private func add(path: String, store: @escaping (CID, [UInt8]) throws(ContentError) -> Void) throws(ContentError)
        -> FileDAGBuilder.Entry
    {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw ioError("Unable to read '\(path)'") }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return try addFile(path, store: store)
        case S_IFDIR:
            var entries: [String: FileDAGBuilder.Entry] = [:]
            for name in try listDirectory(path) where includeHidden || !name.hasPrefix(".") {
                entries[name] = try add(path: path + "/" + name, store: store)
            }
            return try directory(entries, path: path, store: store)
        case S_IFLNK:
            throw ContentError(
                .unsupported,
                "Unable to add '\(path)': symbolic links are not supported (kubo stores them as UnixFS symlinks)"
            )
        default:
            throw ContentError(.unsupported, "Unable to add '\(path)': not a regular file or folder")
        }
    }

    private func addFile(_ path: String, store: @escaping (CID, [UInt8]) throws(ContentError) -> Void)
        throws(ContentError) -> FileDAGBuilder.Entry
    {
        guard let file = fopen(path, "rb") else { throw ioError("Unable to read '\(path)'") }
        defer { fclose(file) }
        var builder = FileDAGBuilder(profile: profile, store: store)
        var chunk = [UInt8](repeating: 0, count: profile.chunkSize)
        while true {
            // Fill a whole chunk (fread may return less than asked before the end of the file).
            var filled = 0
            while filled < chunk.count {
                let count = chunk.withUnsafeMutableBytes { fread($0.baseAddress! + filled, 1, $0.count - filled, file) }
                if count == 0 { break }
                filled += count
            }
            if ferror(file) != 0 { throw ioError("Unable to read '\(path)'") }
            if filled > 0 { try builder.add(chunk: chunk[..<filled]) }
            if filled < chunk.count { break }
        }
        return try builder.finish()
    }

    private func directory(
        _ entries: [String: FileDAGBuilder.Entry],
        path: String,
        threshold: Int = ImportProfile.hamtThreshold,
        store: (CID, [UInt8]) throws(ContentError) -> Void
    ) throws(ContentError) -> FileDAGBuilder.Entry {
        let names = entries.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
        let estimate = names.reduce(0) { $0 + $1.utf8.count + entries[$1]!.cid.bytes.count }
        // kubo's rule (boxo `BasicDirectory.needsToSwitchToHAMTDir`): past the threshold the directory is a HAMT.
        guard estimate <= threshold else {
            return try HAMTDirectory.build(entries, profile: profile, path: path, store: store)
        }
        let links = names.map { DagPBLink(cid: entries[$0]!.cid, name: $0, tsize: entries[$0]!.tsize) }
        let block = DagPBNode(links: links, data: UnixFSData(kind: .directory).bytes).bytes
        let cid = CID.of(block, codec: CID.dagPB, version: profile.cidVersion)
        try store(cid, block)
        return FileDAGBuilder.Entry(
            cid: cid,
            tsize: UInt64(block.count) + links.reduce(0) { $0 + $1.tsize },
            fileSize: entries.values.reduce(0) { $0 + $1.fileSize }
        )
    }

    private func listDirectory(_ path: String) throws(ContentError) -> [String] {
        guard let handle = opendir(path) else { throw ioError("Unable to list '\(path)'") }
        defer { closedir(handle) }
        var names: [String] = []
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }
}

func ioError(_ message: String) -> ContentError {
    ContentError(.io, "\(message): \(String(cString: strerror(errno)))")
}
