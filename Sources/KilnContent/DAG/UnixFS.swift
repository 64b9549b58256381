// Kiln — Apache-2.0. See LICENSE.

/// The UnixFS `Data` message carried in a dag-pb node's data (fields in spec order: Type, Data, filesize,
/// blocksizes, hashType, fanout).
public struct UnixFSData: Hashable, Sendable {
    /// UnixFS's node types.
    public enum Kind: UInt64, Sendable {
        case raw = 0, directory = 1, file = 2, metadata = 3, symlink = 4, hamtShard = 5
    }

    /// The node type.
    public var kind: Kind
    /// Inline file bytes, for a leaf that is not a raw block.
    public var data: [UInt8]?
    /// The file's size in bytes.
    public var fileSize: UInt64?
    /// The size of each child's file bytes, in link order.
    public var blockSizes: [UInt64]
    /// A HAMT shard's hash function (multicodec; kubo's is murmur3-x64-64, 0x22).
    public var hashType: UInt64?
    /// A HAMT shard's width.
    public var fanout: UInt64?

    /// A UnixFS `Data` message. Empty `data` is the same as none (both encode without the field), so it is kept
    /// as `nil`: two messages with the same bytes are equal.
    public init(
        kind: Kind,
        data: [UInt8]? = nil,
        fileSize: UInt64? = nil,
        blockSizes: [UInt64] = [],
        hashType: UInt64? = nil,
        fanout: UInt64? = nil
    ) {
        self.kind = kind
        self.data = data?.isEmpty == true ? nil : data
        self.fileSize = fileSize
        self.blockSizes = blockSizes
        self.hashType = hashType
        self.fanout = fanout
    }

    /// The encoding: empty `Data` is left out (as kubo does for an empty file).
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        Protobuf.varintField(1, kind.rawValue, into: &out)
        if let data, !data.isEmpty { Protobuf.bytesField(2, data, into: &out) }
        if let fileSize { Protobuf.varintField(3, fileSize, into: &out) }
        for size in blockSizes { Protobuf.varintField(4, size, into: &out) }
        if let hashType { Protobuf.varintField(5, hashType, into: &out) }
        if let fanout { Protobuf.varintField(6, fanout, into: &out) }
        return out
    }

    /// Decodes a UnixFS `Data` message.
    /// - Throws: ``ContentError`` when it is malformed.
    public init(decoding bytes: [UInt8]) throws(ContentError) {
        var kind: Kind?
        var data: [UInt8]?
        var fileSize: UInt64?
        var blockSizes: [UInt64] = []
        var hashType: UInt64?
        var fanout: UInt64?
        for (field, value) in try Protobuf.fields(bytes, 0..<bytes.count, message: "UnixFS data") {
            switch (field, value) {
            case (1, .varint(let raw)):
                guard let decoded = Kind(rawValue: raw) else {
                    throw ContentError(.invalidBlock, "Unable to decode UnixFS data: unknown type \(raw)")
                }
                kind = decoded
            case (2, .bytes(let range)): data = Array(bytes[range])
            case (3, .varint(let size)): fileSize = size
            case (4, .varint(let size)): blockSizes.append(size)
            case (5, .varint(let value)): hashType = value
            case (6, .varint(let value)): fanout = value
            default: continue  // mode, mtime: not used by Kiln
            }
        }
        guard let kind else { throw ContentError(.invalidBlock, "Unable to decode UnixFS data: no Type") }
        self.init(
            kind: kind,
            data: data,
            fileSize: fileSize,
            blockSizes: blockSizes,
            hashType: hashType,
            fanout: fanout
        )
    }
}
