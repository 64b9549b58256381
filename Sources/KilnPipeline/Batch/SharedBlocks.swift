// Kiln — Apache-2.0. See LICENSE.

public import KilnContent
public import KilnStore
internal import Synchronization

/// The blocks one job writes, recorded as they go to the local blockstore, so that a store which shares blocks
/// (``PostgresStore``) keeps them in the same transaction that records the job's publication: a job killed
/// before that transaction leaves no block behind in the database.
final class RecordingBlockstore: Blockstore {
    let base: any Blockstore
    private let written = Mutex<[CID: [UInt8]]>([:])

    init(_ base: any Blockstore) { self.base = base }

    func put(_ block: [UInt8], cid: CID) throws(ContentError) {
        try base.put(block, cid: cid)
        written.withLock { $0[cid.v1] = block }
    }

    func get(_ cid: CID) throws(ContentError) -> [UInt8] { try base.get(cid) }

    func has(_ cid: CID) -> Bool { base.has(cid) }

    func sync() throws(ContentError) { try base.sync() }

    /// Every block written so far, once each, in CID order.
    func recorded() -> [StoredBlock] {
        written.withLock { blocks in
            blocks.map { StoredBlock(cid: $0.key.description, bytes: $0.value) }.sorted { $0.cid < $1.cid }
        }
    }
}

/// Copying a shared store's blocks to the local blockstore.
public enum SharedBlocks {
    /// Copies every block `store` keeps that `local` lacks into `local`, each checked against its CID first.
    /// - Returns: how many blocks were copied (0 for a store that does not share blocks).
    /// - Throws: ``PipelineError`` when a block does not match its CID, or the store fails.
    @discardableResult
    public static func fetch(from store: any StoreBase & BlockKeeping, into local: any Blockstore) async throws -> Int {
        guard store.sharesBlocks else { return 0 }
        let missing = try await store.blockCIDs().filter { text in (try? CID(text)).map { !local.has($0) } ?? true }
        var copied = 0
        for start in stride(from: 0, to: missing.count, by: 256) {
            for block in try await store.blocks(Array(missing[start..<min(start + 256, missing.count)])) {
                let cid: CID
                do {
                    cid = try CID(block.cid)
                    guard try cid.multihash.matches(block.bytes) else {
                        throw PipelineError(.input, "Block \(block.cid) in \(store.location) does not match its CID")
                    }
                    try local.put(block.bytes, cid: cid)
                } catch let error as PipelineError {
                    throw error
                } catch {
                    throw PipelineError(.input, "Block \(block.cid) in \(store.location): \(error)", cause: error)
                }
                copied += 1
            }
        }
        return copied
    }
}
