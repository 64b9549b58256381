import Foundation
import KilnContent
import KilnCore
import KilnPipeline
import KilnStore
import KilnTesting
import Testing

/// Copying a PostgreSQL store's blocks walks the DAGs asked for: only their missing blocks come over, each checked
/// against its CID, and the rest of the store's table is never read.
struct SharedBlocksTests {
    /// A folder of two files (one large enough for several chunks) imported into memory: its root and blocks.
    static func dag(_ seed: UInt8) throws -> (root: CID, blocks: [StoredBlock]) {
        let memory = MemoryBlockstore()
        let importer = Importer()
        let big = try importer.add(
            bytes: (0..<700_000).map { UInt8(truncatingIfNeeded: $0 &* 7 &+ Int(seed)) },
            into: memory
        )
        let small = try importer.add(bytes: Array("token \(seed)".utf8), into: memory)
        let root = try importer.directory(["image.png": big, "metadata.json": small], into: memory)
        var blocks: [StoredBlock] = []
        var queue = [root.cid]
        var seen: Set<CID> = []
        while let cid = queue.popLast() {
            guard seen.insert(cid.v1).inserted else { continue }  // equal chunks are one block
            let bytes = try memory.get(cid)
            blocks.append(StoredBlock(cid: cid.v1.description, bytes: bytes))
            if cid.codec == CID.dagPB { queue += try DagPBNode(decoding: bytes).links.map(\.cid) }
        }
        return (root.cid, blocks)
    }

    @Test func copiesOnlyTheMissingBlocksOfTheDAGsAskedFor() async throws {
        let store = try await PostgresStore.open(url: try await PostgresTestServer.makeDatabase())
        let (wanted, wantedBlocks) = try Self.dag(1)
        let (other, otherBlocks) = try Self.dag(2)
        try await store.keep(wantedBlocks + otherBlocks)
        let local = try FilesystemBlockstore(folder: try temporaryFolder("shared-blocks").path)
        // One leaf is already here: it is not copied again.
        let leaf = try #require(wantedBlocks.first { $0.cid.hasPrefix("bafkrei") })
        try local.put(leaf.bytes, cid: try CID(leaf.cid))

        let copied = try await SharedBlocks.fetch([wanted], from: store, into: local)
        #expect(copied == wantedBlocks.count - 1)
        for block in wantedBlocks { #expect(local.has(try CID(block.cid))) }
        #expect(!local.has(other), "another DAG of the store is not copied")
        let listing = try UnixFSReader(blockstore: local).entry(wanted)
        #expect(listing.cid == wanted)
        #expect(try await SharedBlocks.fetch([wanted], from: store, into: local) == 0, "nothing is missing now")
    }

    @Test func aBlockInNeitherPlaceOrNotMatchingItsCIDIsNamed() async throws {
        let store = try await PostgresStore.open(url: try await PostgresTestServer.makeDatabase())
        let (root, blocks) = try Self.dag(3)
        let lost = try #require(blocks.first { $0.cid.hasPrefix("bafkrei") })
        try await store.keep(blocks.filter { $0.cid != lost.cid })
        let local = try FilesystemBlockstore(folder: try temporaryFolder("shared-blocks").path)
        await #expect {
            try await SharedBlocks.fetch([root], from: store, into: local)
        } throws: { error in
            "\(error)".contains("Block \(lost.cid) is in neither the local blockstore nor the store")
        }
        let forged = StoredBlock(cid: lost.cid, bytes: lost.bytes + [0])
        try await store.keep([forged])
        await #expect {
            try await SharedBlocks.fetch([root], from: store, into: local)
        } throws: { error in
            "\(error)".contains("does not match its CID")
        }
        #expect(!local.has(try CID(lost.cid)))
    }
}
