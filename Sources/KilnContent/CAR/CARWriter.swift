// Kiln — Apache-2.0. See LICENSE.

internal import KilnCore

/// Writes CAR v1 files: the header, then every block reachable from the roots, depth-first in link order,
/// each once, as `varint(len) ‖ cid ‖ block` sections. The file appears atomically when complete.
public enum CARWriter {
    /// Writes the DAGs under `roots` from `blockstore` to `path`; returns the number of blocks written.
    /// - Throws: ``ContentError`` when a block is missing or corrupt (nothing is left at `path` then).
    @discardableResult
    public static func write(roots: [CID], from blockstore: any Blockstore, to path: String) throws(ContentError) -> Int
    {
        let writer: AtomicFile.Writer
        do { writer = try AtomicFile.Writer(path: path) } catch { throw ContentError(.io, error.description) }
        var count = 0
        do {
            let header = CARHeader(roots: roots).bytes
            try writer.write(Varint.encode(UInt64(header.count)) + header)
            var seen: Set<CID> = []
            for root in roots {
                try visit(root, blockstore, &seen) { cid, block throws(AtomicFile.WriteError) in
                    let id = cid.bytes
                    try writer.write(Varint.encode(UInt64(id.count + block.count)) + id)
                    try writer.write(block)
                    count += 1
                }
            }
            try writer.commit()
        } catch let error as ContentError {
            throw error
        } catch let error as AtomicFile.WriteError {
            throw ContentError(.io, error.description)
        } catch {
            throw ContentError(.io, "\(error)", cause: error)
        }
        return count
    }

    /// Depth-first, pre-order: a block, then the DAGs of its links in order. Blocks seen before are skipped.
    static func visit(
        _ cid: CID,
        _ blockstore: any Blockstore,
        _ seen: inout Set<CID>,
        _ emit: (CID, [UInt8]) throws(AtomicFile.WriteError) -> Void
    ) throws {
        guard seen.insert(cid.v1).inserted else { return }
        let block = try blockstore.get(cid)
        try emit(cid, block)
        if cid.codec == CID.dagPB {
            for link in try DagPBNode(decoding: block).links {
                try visit(link.cid, blockstore, &seen, emit)
            }
        }
    }
}
