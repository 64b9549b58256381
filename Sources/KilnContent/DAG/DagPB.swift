// Kiln — Apache-2.0. See LICENSE.

/// A dag-pb link: the child's CID, its name in a directory (empty in a file), and the total size of its DAG.
public struct DagPBLink: Hashable, Sendable {
    /// The linked block.
    public var cid: CID
    /// The link's name (empty in a file's links).
    public var name: String
    /// The child's block size plus the `Tsize` of all its links (the cumulative size of its DAG).
    public var tsize: UInt64

    /// A link.
    public init(cid: CID, name: String, tsize: UInt64) {
        self.cid = cid
        self.name = name
        self.tsize = tsize
    }
}

/// A dag-pb node (`PBNode`): links, then data, encoded exactly as the dag-pb spec and kubo order them.
public struct DagPBNode: Hashable, Sendable {
    /// The node's links (sorted by name in a directory).
    public var links: [DagPBLink]
    /// The node's data (a UnixFS message).
    public var data: [UInt8]?

    /// A node.
    public init(links: [DagPBLink], data: [UInt8]?) {
        self.links = links
        self.data = data
    }

    /// The block: each link as field 2 (`Hash` 1, `Name` 2 — always present, as kubo writes it — `Tsize` 3),
    /// then `Data` as field 1.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        for link in links {
            var encoded: [UInt8] = []
            Protobuf.bytesField(1, link.cid.bytes, into: &encoded)
            Protobuf.bytesField(2, Array(link.name.utf8), into: &encoded)
            Protobuf.varintField(3, link.tsize, into: &encoded)
            Protobuf.bytesField(2, encoded, into: &out)
        }
        if let data { Protobuf.bytesField(1, data, into: &out) }
        return out
    }

    /// Decodes a dag-pb block.
    /// - Throws: ``ContentError/Code/invalidBlock`` saying what is wrong.
    public init(decoding block: [UInt8]) throws(ContentError) {
        var links: [DagPBLink] = []
        var data: [UInt8]?
        for (field, value) in try Protobuf.fields(block, 0..<block.count, message: "dag-pb node") {
            switch (field, value) {
            case (1, .bytes(let range)):
                guard data == nil else {
                    throw ContentError(.invalidBlock, "Unable to decode dag-pb node: two Data fields")
                }
                data = Array(block[range])
            case (2, .bytes(let range)):
                guard data == nil else {
                    throw ContentError(.invalidBlock, "Unable to decode dag-pb node: a link after Data")
                }
                var cid: CID?
                var name = ""
                var tsize: UInt64 = 0
                for (linkField, linkValue) in try Protobuf.fields(block, range, message: "dag-pb link") {
                    switch (linkField, linkValue) {
                    case (1, .bytes(let hash)): cid = try CID(bytes: Array(block[hash]))
                    case (2, .bytes(let text)):
                        guard let decoded = String(validating: block[text], as: UTF8.self) else {
                            throw ContentError(.invalidBlock, "Unable to decode dag-pb link: name is not UTF-8")
                        }
                        name = decoded
                    case (3, .varint(let size)): tsize = size
                    default:
                        throw ContentError(.invalidBlock, "Unable to decode dag-pb link: unexpected field \(linkField)")
                    }
                }
                guard let cid else { throw ContentError(.invalidBlock, "Unable to decode dag-pb link: no Hash") }
                links.append(DagPBLink(cid: cid, name: name, tsize: tsize))
            default:
                throw ContentError(.invalidBlock, "Unable to decode dag-pb node: unexpected field \(field)")
            }
        }
        self.links = links
        self.data = data
    }
}
