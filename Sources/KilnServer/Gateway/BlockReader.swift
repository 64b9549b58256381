// Kiln — Apache-2.0. See LICENSE.

internal import KilnContent
internal import KilnStore
internal import NIOPosix

/// Reads blocks for the server off the cooperative pool (a blockstore folder is file I/O): on NIO's blocking
/// thread pool. Identity CIDs (multihash 0x00, such as the probe `bafkqaaa`) carry their block in the CID.
/// With a store that shares blocks (PostgreSQL), a block the local blockstore lacks — one a worker on another
/// machine published — is read from the store, checked against its CID and kept locally: nothing is copied ahead
/// of a request, so starting costs nothing and memory does not grow with the store.
struct BlockReader: Sendable {
    let blockstore: any Blockstore
    var store: (any StoreBase & BlockKeeping)? = nil
    /// The blocks answered with last (``BlockCache``), when the server keeps them.
    var cache: BlockCache? = nil

    /// The block, checked against its CID by the blockstore (or here, when it comes from the store).
    func get(_ cid: CID) async throws(ContentError) -> [UInt8] {
        if cid.isIdentity { return cid.multihash.digest }
        if let kept = cache?.get(cid) { return kept }
        let blockstore = self.blockstore
        do {
            let bytes = try await NIOThreadPool.singleton.runIfActive { try blockstore.get(cid) }
            cache?.put(cid, bytes)
            return bytes
        } catch let error as ContentError where error.code == .blockNotFound && store != nil {
            return try await fromStore(cid, missing: error)
        } catch let error as ContentError {
            throw error
        } catch {
            throw ContentError(.io, "Unable to read block \(cid): \(error)", cause: error)
        }
    }

    func fromStore(_ cid: CID, missing: ContentError) async throws(ContentError) -> [UInt8] {
        guard let store else { throw missing }
        let found: [StoredBlock]
        do { found = try await store.blocks([cid.v1.description]) } catch {
            throw ContentError(
                .io,
                "Unable to read block \(cid) from \(store.location): \(error.message)",
                cause: error
            )
        }
        guard let bytes = found.first?.bytes else { throw missing }
        guard (try? cid.multihash.matches(bytes)) == true else {
            throw ContentError(.blockMismatch, "Block \(cid) in \(store.location) does not match its CID")
        }
        let blockstore = self.blockstore
        // Kept for the next request; a failure to keep it (a full disk) still answers this one.
        _ = try? await NIOThreadPool.singleton.runIfActive { try blockstore.put(bytes, cid: cid) }
        cache?.put(cid, bytes)
        return bytes
    }
}

extension CID {
    /// Whether the CID holds its block itself (identity multihash).
    var isIdentity: Bool { multihash.function == 0 }
}
