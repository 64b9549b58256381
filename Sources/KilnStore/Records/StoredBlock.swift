// Kiln — Apache-2.0. See LICENSE.

/// A block kept by a store that shares blocks between machines (``PostgresStore``): its CID as text and its bytes.
/// The store does not know CIDs; whoever reads a block checks it against its CID.
public struct StoredBlock: Hashable, Sendable {
    /// The CID, as text.
    public var cid: String
    /// The block's bytes.
    public var bytes: [UInt8]

    /// A block.
    public init(cid: String, bytes: [UInt8]) {
        self.cid = cid
        self.bytes = bytes
    }
}
