import Foundation
import KilnContent
import KilnTesting
import Testing

@testable import KilnServer

/// `kiln serve` keeps the blocks it answered with in memory, up to a size: a kept block is answered without the
/// blockstore, the oldest go first, and a block too large to keep is read each time.
struct BlockCacheTests {
    func block(_ text: String, size: Int = 0) throws -> (cid: CID, bytes: [UInt8]) {
        let bytes = Array(text.utf8) + [UInt8](repeating: 7, count: size)
        return (try Importer(profile: .kuboV1).add(bytes: bytes).cid, bytes)
    }

    @Test func keptBlocksAreAnsweredWithoutTheBlockstoreOldestOutFirst() async throws {
        let folder = try temporaryFolder("block-cache")
        let blockstore = try FilesystemBlockstore(folder: folder.path)
        let cache = BlockCache(capacity: 8_000)
        let reader = BlockReader(blockstore: blockstore, cache: cache)
        let blocks = try (0..<5).map { try block("block \($0)", size: 900) }
        for (cid, bytes) in blocks { try blockstore.put(bytes, cid: cid) }
        for (cid, bytes) in blocks { #expect(try await reader.get(cid) == bytes) }
        #expect(cache.bytes == blocks.reduce(0) { $0 + $1.bytes.count })

        // Gone from the folder: still answered, from memory.
        for (cid, _) in blocks { try FileManager.default.removeItem(atPath: folder.path + "/" + cid.v1.description) }
        for (cid, bytes) in blocks { #expect(try await reader.get(cid) == bytes) }

        // More than the capacity: the oldest go; what is left is still within it.
        let more = try (5..<12).map { try block("block \($0)", size: 900) }
        for (cid, bytes) in more { cache.put(cid, bytes) }
        #expect(cache.bytes <= 8_000)
        #expect(cache.get(blocks[0].cid) == nil, "the oldest went first")
        #expect(cache.get(more.last!.cid) == more.last!.bytes)
        await #expect(throws: ContentError.self) { _ = try await reader.get(blocks[0].cid) }

        // A block over an eighth of the capacity is not kept.
        let large = try block("large", size: 1_100)
        cache.put(large.cid, large.bytes)
        #expect(cache.get(large.cid) == nil)
    }
}
