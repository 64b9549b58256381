// Kiln — Apache-2.0. See LICENSE.

/// Where blocks live, by CID. Implementations verify a block against its CID before returning it.
public protocol Blockstore: Sendable {
    /// Stores `block` under `cid` (a no-op when already present).
    func put(_ block: [UInt8], cid: CID) throws(ContentError)
    /// The block for `cid`, checked against its hash.
    /// - Throws: ``ContentError/Code/blockNotFound`` or ``ContentError/Code/blockMismatch``.
    func get(_ cid: CID) throws(ContentError) -> [UInt8]
    /// Whether a block for `cid` is stored.
    func has(_ cid: CID) -> Bool
    /// Makes every block put so far durable (a power cut cannot lose it): called once per job, before the job's
    /// publication is recorded, rather than once per block.
    func sync() throws(ContentError)
}

extension Blockstore {
    /// Nothing to flush (blocks in memory, or a store that flushes each block itself).
    public func sync() throws(ContentError) {}
}
