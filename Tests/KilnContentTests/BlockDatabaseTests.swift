import Foundation
import GRDB
import KilnContent
import KilnCore
import KilnTesting
import Testing

/// The `database` layout: blocks put are readable at once, committed by `sync()` into `blocks.sqlite`, which any
/// blockstore value of the folder reads beside block files.
struct BlockDatabaseTests {
    static func blocks(_ count: Int, _ label: String) -> [(CID, [UInt8])] {
        (0..<count).map { index in
            let block =
                Array("\(label) block \(index) ".utf8) + [UInt8](repeating: UInt8(index % 251), count: index * 97)
            return (CID.of(block, codec: CID.raw), block)
        }
    }

    @Test func putBlocksAreReadableAtOnceAndOnDiskAfterSync() throws {
        let folder = try temporaryFolder("block-db")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("blocks").path
        let writer = try FilesystemBlockstore(folder: path, layout: .database)
        let reader = try FilesystemBlockstore(folder: path)  // another value: sees only what is on disk
        let blocks = Self.blocks(20, "first")
        for (cid, block) in blocks { try writer.put(block, cid: cid) }
        for (cid, block) in blocks {
            #expect(writer.has(cid))
            #expect(try writer.get(cid) == block)
            #expect(!reader.has(cid))
        }
        #expect(!FileManager.default.fileExists(atPath: path + "/blocks.sqlite"), "nothing written before sync")
        try writer.sync()
        for (cid, block) in blocks {
            #expect(reader.has(cid))
            #expect(try reader.get(cid) == block)
        }
        // No block file: the rows are the blocks; keys() lists them.
        #expect(try reader.keys() == blocks.map(\.0.v1.description).sorted())
        let files = try FileManager.default.contentsOfDirectory(atPath: path).filter { !$0.hasPrefix("blocks.sqlite") }
        #expect(files.isEmpty, "\(files)")

        // A block file beside the database (what `kiln add` writes) reads the same, and both are listed.
        let loose = Array("a loose block".utf8)
        let looseCID = CID.of(loose, codec: CID.raw)
        try reader.put(loose, cid: looseCID)
        #expect(try writer.get(looseCID) == loose)
        #expect(try reader.keys() == (blocks.map(\.0.v1.description) + [looseCID.description]).sorted())

        // A block already stored (file or row) is not put again; a CIDv0 and its CIDv1 share one row.
        try writer.put(loose, cid: looseCID)
        let pb = DagPBNode(links: [], data: UnixFSData(kind: .directory).bytes).bytes
        try writer.put(pb, cid: CID.of(pb, codec: CID.dagPB, version: 0))
        try writer.sync()
        #expect(reader.has(CID.of(pb, codec: CID.dagPB, version: 1)))
        #expect(try Self.rows(path) == blocks.count + 1)
    }

    @Test func aDamagedRowIsRefusedOnRead() throws {
        let folder = try temporaryFolder("block-db")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("blocks").path
        let store = try FilesystemBlockstore(folder: path, layout: .database)
        let block = Array("some block".utf8)
        let cid = CID.of(block, codec: CID.raw)
        try store.put(block, cid: cid)
        try store.sync()
        try DatabaseQueue(path: path + "/blocks.sqlite").write { db in
            try db.execute(
                sql: "UPDATE blocks SET bytes = ? WHERE cid = ?",
                arguments: [Data("some bl0ck".utf8), cid.description]
            )
        }
        #expect(
            throws: ContentError(
                .blockMismatch,
                "Block \(cid) in '\(path)/blocks.sqlite' does not match its hash: the row is corrupt"
            )
        ) {
            try store.get(cid)
        }
    }

    /// Many jobs at once, each putting its blocks and syncing: when a job's sync returns, its blocks are committed
    /// (another job's sync may have taken them; it waits for that commit), and every block lands once.
    @Test func concurrentJobsEachFindTheirBlocksCommittedAfterTheirSync() async throws {
        let folder = try temporaryFolder("block-db")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("blocks").path
        let store = try FilesystemBlockstore(folder: path, layout: .database)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for job in 0..<16 {
                group.addTask {
                    let blocks = Self.blocks(8, "job \(job)")
                    for (cid, block) in blocks { try store.put(block, cid: cid) }
                    try store.sync()
                    let committed = try Self.rows(path, keys: blocks.map(\.0.description))
                    #expect(committed == blocks.count, "job \(job)")
                }
            }
            try await group.waitForAll()
        }
        #expect(try Self.rows(path) == 16 * 8)
    }

    /// A sync that cannot write keeps the blocks readable and waiting; the next sync commits them.
    @Test func aFailedSyncKeepsTheBlocksForTheNext() throws {
        let folder = try temporaryFolder("block-db")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("blocks").path
        let store = try FilesystemBlockstore(folder: path, layout: .database)
        let blocks = Self.blocks(3, "kept")
        for (cid, block) in blocks { try store.put(block, cid: cid) }
        // A folder where the database file would go: SQLite cannot open it.
        try FileManager.default.createDirectory(atPath: path + "/blocks.sqlite", withIntermediateDirectories: false)
        #expect { try store.sync() } throws: { error in
            let error = try #require(error as? ContentError)
            return error.code == .io && error.message.contains("\(path)/blocks.sqlite") && error.cause != nil
        }
        for (cid, block) in blocks { #expect(try store.get(cid) == block) }
        try FileManager.default.removeItem(atPath: path + "/blocks.sqlite")
        try store.sync()
        #expect(try Self.rows(path) == blocks.count)
    }

    /// Rows in the folder's database, all or those of `keys`, read by GRDB directly.
    static func rows(_ folder: String, keys: [String]? = nil) throws -> Int {
        try DatabaseQueue(path: folder + "/blocks.sqlite").read { db in
            guard let keys else { return try Int.fetchOne(db, sql: "SELECT count(*) FROM blocks") ?? 0 }
            return try keys.reduce(0) { count, key in
                count + (try Int.fetchOne(db, sql: "SELECT count(*) FROM blocks WHERE cid = ?", arguments: [key]) ?? 0)
            }
        }
    }
}
