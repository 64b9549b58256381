// Kiln — Apache-2.0. See LICENSE.

internal import Synchronization

/// Blocks held in memory: a CAR file's blocks for `kiln verify`, or a scratch store in tests.
public final class MemoryBlockstore: Blockstore {
    private let blocks = Mutex<[CID: [UInt8]]>([:])

    /// An empty blockstore.
    public init() {}

    /// Loads every block of a CAR v1 file (each is checked against its CID as it is read).
    public convenience init(car path: String) throws(ContentError) {
        self.init()
        let reader = try CARReader(path: path)
        while let section = try reader.next() { try put(section.block, cid: section.cid) }
    }

    /// Keeps `block` under `cid`, after checking it against the CID's hash.
    /// - Throws: ``ContentError`` (`blockMismatch`) when it does not match.
    public func put(_ block: [UInt8], cid: CID) throws(ContentError) {
        guard try cid.multihash.matches(block) else {
            throw ContentError(.blockMismatch, "Block \(cid) does not match its hash")
        }
        blocks.withLock { $0[cid.v1] = block }
    }

    /// The block for `cid`.
    /// - Throws: ``ContentError`` when it is absent.
    public func get(_ cid: CID) throws(ContentError) -> [UInt8] {
        guard let block = blocks.withLock({ $0[cid.v1] }) else {
            throw ContentError(.blockNotFound, "Block \(cid) is not among the blocks given")
        }
        return block
    }

    /// Whether `cid` is held.
    public func has(_ cid: CID) -> Bool { blocks.withLock { $0[cid.v1] != nil } }

    /// How many blocks are held.
    public var count: Int { blocks.withLock { $0.count } }
}

/// Looks in several blockstores in turn (a CAR file, then a blockstore folder, …).
public struct LayeredBlockstore: Blockstore {
    /// The layers, searched in order.
    public let layers: [any Blockstore]
    /// A blockstore that reads from each layer in turn and writes to the first.
    public init(_ layers: [any Blockstore]) { self.layers = layers }

    /// Writes to the first layer.
    public func put(_ block: [UInt8], cid: CID) throws(ContentError) { try layers.first?.put(block, cid: cid) }

    /// The block from the first layer that has it.
    public func get(_ cid: CID) throws(ContentError) -> [UInt8] {
        for layer in layers where layer.has(cid) { return try layer.get(cid) }
        throw ContentError(.blockNotFound, "Block \(cid) is not among the blocks given")
    }

    /// Whether any layer has `cid`.
    public func has(_ cid: CID) -> Bool { layers.contains { $0.has(cid) } }

    /// Flushes the layer written to.
    public func sync() throws(ContentError) { try layers.first?.sync() }
}
