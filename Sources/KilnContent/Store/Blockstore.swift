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
}
