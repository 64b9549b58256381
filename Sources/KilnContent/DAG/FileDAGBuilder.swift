// Kiln — Apache-2.0. See LICENSE.

/// Builds a UnixFS file DAG from a stream of chunks, as kubo's balanced layout does, keeping only links
/// in memory (at most `maxLinks` per level), so files of any size import in bounded memory.
///
/// Leaves are filled left to right; a node gets at most `maxLinks` children; the tree grows a level when its
/// root is full and more data follows. One chunk is its own root (a raw block, or a UnixFS leaf for `kubo-v0`).
public struct FileDAGBuilder {
    /// A finished node or leaf: its CID, its DAG's cumulative size and the file bytes below it.
    public struct Entry: Hashable, Sendable {
        /// The root CID.
        public var cid: CID
        /// The cumulative size (block plus every linked block), as dag-pb links record it.
        public var tsize: UInt64
        /// The file bytes under it.
        public var fileSize: UInt64
    }

    /// How files are chunked and linked.
    public let profile: ImportProfile
    private var levels: [[Entry]] = []
    private let store: (CID, [UInt8]) throws(ContentError) -> Void

    /// - Parameter store: called with every block as it is made (leaves first); pass `{ _, _ in }` to only hash.
    public init(profile: ImportProfile, store: @escaping (CID, [UInt8]) throws(ContentError) -> Void) {
        self.profile = profile
        self.store = store
    }

    /// Adds the next chunk (at most `profile.chunkSize` bytes; only the last one may be shorter).
    public mutating func add(chunk: some Collection<UInt8>) throws(ContentError) {
        let leaf: Entry
        if profile.rawLeaves {
            let block = Array(chunk)
            let cid = CID.of(block, codec: CID.raw, version: 1)
            try store(cid, block)
            leaf = Entry(cid: cid, tsize: UInt64(block.count), fileSize: UInt64(block.count))
        } else {
            let data = UnixFSData(kind: .file, data: Array(chunk), fileSize: UInt64(chunk.count))
            let block = DagPBNode(links: [], data: data.bytes).bytes
            let cid = CID.of(block, codec: CID.dagPB, version: profile.cidVersion)
            try store(cid, block)
            leaf = Entry(cid: cid, tsize: UInt64(block.count), fileSize: UInt64(chunk.count))
        }
        try push(leaf, level: 0)
    }

    /// Ends the file and returns its root. A file with no chunk at all is one empty chunk.
    public mutating func finish() throws(ContentError) -> Entry {
        if levels.isEmpty { try add(chunk: []) }
        if levels.count == 1 && levels[0].count == 1 { return levels[0][0] }
        var level = 0
        while true {
            if level == levels.count - 1 && levels[level].count == 1 && level > 0 { return levels[level][0] }
            let node = try makeNode(levels[level])
            levels[level] = []
            try push(node, level: level + 1)
            level += 1
        }
    }

    private mutating func push(_ entry: Entry, level: Int) throws(ContentError) {
        if levels.count == level { levels.append([]) }
        if levels[level].count == profile.maxLinks {
            let node = try makeNode(levels[level])
            levels[level] = []
            try push(node, level: level + 1)
        }
        levels[level].append(entry)
    }

    private func makeNode(_ children: [Entry]) throws(ContentError) -> Entry {
        let fileSize = children.reduce(0) { $0 + $1.fileSize }
        let data = UnixFSData(kind: .file, fileSize: fileSize, blockSizes: children.map(\.fileSize))
        let node = DagPBNode(
            links: children.map { DagPBLink(cid: $0.cid, name: "", tsize: $0.tsize) },
            data: data.bytes
        )
        let block = node.bytes
        let cid = CID.of(block, codec: CID.dagPB, version: profile.cidVersion)
        try store(cid, block)
        return Entry(cid: cid, tsize: UInt64(block.count) + children.reduce(0) { $0 + $1.tsize }, fileSize: fileSize)
    }
}
