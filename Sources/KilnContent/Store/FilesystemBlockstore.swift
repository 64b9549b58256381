// Kiln — Apache-2.0. See LICENSE.

internal import KilnCore
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A blockstore in a folder. A block is either a file, `<folder>/<CIDv1 in base32>`, written atomically (temporary
/// file + rename, so a crash never leaves a half-written block under a real name), or a row of the folder's
/// `blocks.sqlite` (``Layout/database``: what `kiln batch` writes). Reads look in both, so a folder of files, a
/// database, or both (a store older than the database, `kiln add` beside a batch) read the same.
///
/// A CIDv0 and the CIDv1 of the same dag-pb block share one file or row.
public struct FilesystemBlockstore: Blockstore {
    /// Where ``put(_:cid:)`` writes.
    public enum Layout: Sendable, Hashable {
        /// One file per block, flushed as it is written (the folder by ``sync()``).
        case files
        /// Rows of `blocks.sqlite`, kept in memory until ``sync()`` commits them in one transaction.
        case database
    }

    /// The folder.
    public let folder: String
    /// Blocks put and not yet committed (``Layout/database``; nil for ``Layout/files``), shared by the copies of
    /// this value.
    private let pending: PendingBlocks?
    /// Where ``put(_:cid:)`` writes.
    public var layout: Layout { pending == nil ? .files : .database }

    /// Opens (and creates, with its parents) the folder.
    public init(folder: String, layout: Layout = .files) throws(ContentError) {
        self.folder = folder
        pending = layout == .database ? PendingBlocks() : nil
        var path = folder.hasPrefix("/") ? "/" : ""
        for part in folder.split(separator: "/") {
            path += (path.isEmpty || path.hasSuffix("/") ? "" : "/") + part
            if mkdir(path, 0o755) != 0 && errno != EEXIST {
                throw ioError("Unable to create blockstore folder '\(path)'")
            }
        }
    }

    /// The block's file: its key (CIDv1, base32) in the folder.
    private func path(_ key: String) -> String { folder + "/" + key }

    /// The folder's block database, if it has one (opened once per process).
    private func database() throws(ContentError) -> BlockDatabase? {
        try BlockDatabase.of(folder: folder, create: false)
    }

    /// Writes `block` under its CID; a block already there is kept. ``Layout/files``: a file (temp file, flushed,
    /// + rename), the folder flushed by ``sync()`` (once per job), not after every block. ``Layout/database``: kept
    /// in memory, readable at once, committed by ``sync()``.
    /// - Throws: ``ContentError`` (`io`) when the file cannot be written.
    public func put(_ block: [UInt8], cid: CID) throws(ContentError) {
        let key = cid.v1.description
        if let pending {
            // A row already there is kept by the commit's INSERT OR IGNORE: no query first (a query per block was
            // 2 % of `kiln batch`'s CPU). A block file is not put again.
            if pending.block(key) == nil, access(path(key), F_OK) != 0 { pending.add(key, block) }
            return
        }
        if has(key) { return }
        do {
            try AtomicFile.write(block, to: path(key), syncFolder: false)
        } catch {
            var failure = ContentError(.io, error.description)
            failure.isEnvironmental = error.isEnvironmental
            throw failure
        }
    }

    /// Makes every block put so far survive a power cut: ``Layout/files`` flushes the folder (the files are flushed
    /// already); ``Layout/database`` commits the blocks put since the last sync, in one transaction.
    public func sync() throws(ContentError) {
        if let pending {
            try pending.commit { blocks throws(ContentError) in
                guard !blocks.isEmpty else { return }  // (another job's commit of them, if any, has ended)
                try BlockDatabase.of(folder: folder, create: true)?.insert(blocks)
            }
            return
        }
        do { try AtomicFile.sync(folder: folder) } catch {
            var failure = ContentError(.io, error.description)
            failure.isEnvironmental = error.isEnvironmental
            throw failure
        }
    }

    /// Reads the block for `cid` and checks it against its CID.
    /// - Throws: ``ContentError`` when it is absent or does not match.
    public func get(_ cid: CID) throws(ContentError) -> [UInt8] {
        let key = cid.v1.description
        if let block = pending?.block(key) { return block }
        guard let file = fopen(path(key), "rb") else {
            guard errno == ENOENT else { throw ioError("Unable to read block \(cid)") }
            guard let block = try database()?.block(key) else {
                throw ContentError(.blockNotFound, "Block \(cid) is not in the blockstore '\(folder)'")
            }
            guard try cid.multihash.matches(block) else {
                throw ContentError(
                    .blockMismatch,
                    "Block \(cid) in '\(folder)/\(BlockDatabase.fileName)' does not match its hash: the row is corrupt"
                )
            }
            return block
        }
        defer { fclose(file) }
        var block: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&buffer, 1, buffer.count, file)
            block.append(contentsOf: buffer[..<count])
            if count < buffer.count { break }
        }
        guard try cid.multihash.matches(block) else {
            throw ContentError(
                .blockMismatch,
                "Block \(cid) in '\(folder)' does not match its hash: the file is corrupt"
            )
        }
        return block
    }

    /// Whether the block is stored: put and not yet synced, a file, or a row (a database that cannot be read counts
    /// as not having it: ``put(_:cid:)`` then writes it again, ``get(_:)`` says why it cannot read it).
    public func has(_ cid: CID) -> Bool { has(cid.v1.description) }

    private func has(_ key: String) -> Bool {
        if pending?.block(key) != nil || access(path(key), F_OK) == 0 { return true }
        return (try? database()?.contains(key)) ?? false
    }

    /// The CIDs (v1, base32) of every block stored as a file or a row, sorted; temporary files and the database's own
    /// files are not blocks.
    public func keys() throws(ContentError) -> [String] {
        guard let handle = opendir(folder) else { throw ioError("Unable to list the blockstore '\(folder)'") }
        defer { closedir(handle) }
        var keys = Set(try database()?.keys() ?? [])
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            if !name.hasPrefix("."), !name.hasPrefix(BlockDatabase.fileName) { keys.insert(name) }
        }
        return keys.sorted()
    }
}

/// The blocks a ``FilesystemBlockstore/Layout/database`` blockstore holds between ``FilesystemBlockstore/put(_:cid:)``
/// and ``FilesystemBlockstore/sync()``, readable meanwhile.
private final class PendingBlocks: Sendable {
    private struct State {
        /// Put, not yet taken by a commit.
        var waiting: [String: [UInt8]] = [:]
        /// Taken by the commit under way (still readable until it is on disk).
        var committing: [String: [UInt8]] = [:]
    }
    private let state = Mutex(State())
    /// One commit at a time: a sync that finds nothing waiting returns only once the commit that took its blocks
    /// (another job's sync) is on disk.
    private let commits = Mutex(())

    func add(_ key: String, _ block: [UInt8]) { state.withLock { $0.waiting[key] = block } }

    func block(_ key: String) -> [UInt8]? {
        state.withLock { $0.waiting[key] ?? $0.committing[key] }
    }

    func commit(_ write: ([String: [UInt8]]) throws(ContentError) -> Void) throws(ContentError) {
        try commits.withLock { _ throws(ContentError) in
            let blocks = state.withLock { state in
                state.committing = state.waiting
                state.waiting = [:]
                return state.committing
            }
            do throws(ContentError) { try write(blocks) } catch {
                // Not on disk: back to waiting, for the next sync to try again.
                state.withLock { state in
                    state.waiting.merge(state.committing) { newer, _ in newer }
                    state.committing = [:]
                }
                throw error
            }
            state.withLock { $0.committing = [:] }
        }
    }
}
