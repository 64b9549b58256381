// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import GRDB
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `blocks.sqlite` in a blockstore folder: the blocks `kiln batch` writes, one row per block
/// (`cid` — the CIDv1 in base32, the name a loose block file has — and `bytes`), in WAL mode.
///
/// Why a database and not one file per block: creating a file costs the kernel an inode, a rename and an `fsync`
/// each, four to seven files per token (docs/explanation/performance.md measures it); rows of a job are committed in
/// one transaction, synced once. SQLite is the transaction, the index and the crash safety here (a commit is whole or
/// absent; `synchronous = FULL`, so a commit is on disk when it returns), and several processes (a coordinator, its
/// workers, `kiln serve`) may read and write it at once.
final class BlockDatabase: Sendable {
    /// The file's name in the blockstore folder.
    static let fileName = "blocks.sqlite"

    let path: String
    private let pool: DatabasePool
    /// Whether this pool made (or found) the table.
    private let tableMade = Atomic<Bool>(false)

    private init(path: String, pool: DatabasePool) {
        self.path = path
        self.pool = pool
    }

    /// The databases this process opened, by folder: one pool per file, shared by every blockstore value.
    private static let opened = Mutex<[String: BlockDatabase]>([:])

    /// The database of `folder`: nil when it has none and `create` is false.
    static func of(folder: String, create: Bool) throws(ContentError) -> BlockDatabase? {
        if let database = opened.withLock({ $0[folder] }) { return database }
        let path = folder + "/" + fileName
        guard create || access(path, F_OK) == 0 else { return nil }
        // One opening at a time in this process (one pool per file), and across processes: two processes opening a
        // new file at once would both switch it to WAL, which SQLite refuses at once with "database is locked" (the
        // busy timeout does not cover it) — so under an exclusive flock on `blocks.sqlite.lock`, held for the
        // moments an opening takes (the kernel drops it if the process dies).
        return try opened.withLock { opened throws(ContentError) in
            if let database = opened[folder] { return database }
            let lock = open(path + ".lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
            if lock >= 0 { flock(lock, LOCK_EX) }  // a folder this process may not write: readers need no lock
            defer { if lock >= 0 { close(lock) } }
            do {
                var configuration = Configuration()
                configuration.busyMode = .timeout(60)
                configuration.label = "kiln.blocks"
                // Blocks are written once and read about once (a batch's CAR): 1 MiB of page cache per connection
                // rather than SQLite's 2 MiB, so the pool's six connections hold little.
                // A commit is on disk when it returns (a job's publication is recorded after it): FULL, whatever
                // SQLite's build defaults to in WAL mode.
                configuration.prepareDatabase { db in
                    try db.execute(sql: "PRAGMA cache_size = -1024; PRAGMA synchronous = FULL")
                }
                let pool = try DatabasePool(path: path, configuration: configuration)
                // Only a writer makes the table (a reader finds it: the writer made it under the same lock).
                if create { try pool.write { db in try Self.createTable(db) } }
                let database = BlockDatabase(path: path, pool: pool)
                database.tableMade.store(create, ordering: .releasing)
                opened[folder] = database
                return database
            } catch {
                throw Self.failure("Unable to open the block database '\(path)'", error)
            }
        }
    }

    /// The bytes stored under `key` (not checked here: ``FilesystemBlockstore`` checks them against the CID).
    /// One statement, so no transaction around it (`unsafeRead`: a single SELECT sees one snapshot anyway).
    func block(_ key: String) throws(ContentError) -> [UInt8]? {
        do {
            return try pool.unsafeRead { db in
                let statement = try db.cachedStatement(sql: "SELECT bytes FROM blocks WHERE cid = ?")
                return try Row.fetchOne(statement, arguments: [key]).map { row in
                    try row.withUnsafeData(atIndex: 0) { data in data.map { [UInt8]($0) } ?? [] }
                }
            }
        } catch {
            throw Self.failure("Unable to read block \(key) from '\(path)'", error)
        }
    }

    /// Whether a row for `key` exists.
    func contains(_ key: String) throws(ContentError) -> Bool {
        do {
            return try pool.unsafeRead { db in
                let statement = try db.cachedStatement(sql: "SELECT EXISTS (SELECT 1 FROM blocks WHERE cid = ?)")
                return try Bool.fetchOne(statement, arguments: [key]) ?? false
            }
        } catch {
            throw Self.failure("Unable to look up block \(key) in '\(path)'", error)
        }
    }

    /// Stores `blocks` in one transaction (a block already there is kept), on disk when this returns.
    func insert(_ blocks: [String: [UInt8]]) throws(ContentError) {
        do {
            try pool.write { db in
                // Made once per pool (this pool may have been opened by a reader): a CREATE, even one that does
                // nothing, empties the connection's statement cache.
                if !tableMade.load(ordering: .acquiring) {
                    try Self.createTable(db)
                    tableMade.store(true, ordering: .releasing)
                }
                let statement = try db.cachedStatement(sql: "INSERT OR IGNORE INTO blocks (cid, bytes) VALUES (?, ?)")
                for (key, bytes) in blocks {
                    try statement.execute(arguments: [key, bytes.withUnsafeBytes { Data($0) }])
                }
            }
        } catch {
            throw Self.failure("Unable to write \(blocks.count) blocks to '\(path)'", error)
        }
    }

    /// Every key, in order (for tools and tests that list a blockstore).
    func keys() throws(ContentError) -> [String] {
        do {
            return try pool.read { db in try String.fetchAll(db, sql: "SELECT cid FROM blocks ORDER BY cid") }
        } catch {
            throw Self.failure("Unable to list the blocks in '\(path)'", error)
        }
    }

    private static func createTable(_ db: Database) throws {
        try db.execute(sql: "CREATE TABLE IF NOT EXISTS blocks (cid TEXT PRIMARY KEY, bytes BLOB NOT NULL)")
    }

    private static func failure(_ what: String, _ error: any Error) -> ContentError {
        var failure = ContentError(.io, "\(what): \(Self.reason(error))", cause: error)
        if let error = error as? DatabaseError {
            // The disk, not the data: full, read-only, I/O error (retrying helps once someone acts).
            failure.isEnvironmental = [.SQLITE_FULL, .SQLITE_READONLY, .SQLITE_IOERR, .SQLITE_CANTOPEN].contains(
                error.resultCode
            )
        }
        return failure
    }

    private static func reason(_ error: any Error) -> String {
        guard let error = error as? DatabaseError else { return "\(error)" }
        return error.message ?? "\(error.resultCode)"
    }
}
