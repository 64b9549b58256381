// Kiln — Apache-2.0. See LICENSE.

internal import KilnContent
internal import NIOPosix

/// Reads blocks for the server off the cooperative pool (a blockstore folder is file I/O): on NIO's blocking
/// thread pool. Identity CIDs (multihash 0x00, such as the probe `bafkqaaa`) carry their block in the CID.
struct BlockReader: Sendable {
    let blockstore: any Blockstore

    /// The block, checked against its CID by the blockstore.
    func get(_ cid: CID) async throws(ContentError) -> [UInt8] {
        if cid.isIdentity { return cid.multihash.digest }
        let blockstore = self.blockstore
        do {
            return try await NIOThreadPool.singleton.runIfActive { try blockstore.get(cid) }
        } catch let error as ContentError {
            throw error
        } catch {
            throw ContentError(.io, "Unable to read block \(cid): \(error)", cause: error)
        }
    }
}

extension CID {
    /// Whether the CID holds its block itself (identity multihash).
    var isIdentity: Bool { multihash.function == 0 }
}
