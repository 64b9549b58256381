// Kiln — Apache-2.0. See LICENSE.

internal import KilnContent

/// Where a walk over a DAG puts what it finds: each block (for a CAR) and each piece of file content (for a
/// deserialized answer), in order.
protocol DAGSink {
    /// A block the walk visited (depth-first, pre-order). Identity blocks are not handed over.
    mutating func block(_ cid: CID, _ bytes: [UInt8]) async throws
    /// File bytes at their place in the file, clipped to the range asked for.
    mutating func content(_ bytes: ArraySlice<UInt8>) async throws
}

extension DAGSink {
    mutating func content(_ bytes: ArraySlice<UInt8>) async throws {}
}

/// Walks UnixFS DAGs block by block, so that nothing larger than one block is held: whole DAGs (`dag-scope=all`),
/// and files or byte ranges of files (`entity`, `entity-bytes`, HTTP `Range`).
struct DAGWalk: Sendable {
    let reader: BlockReader
    /// How deep a DAG may nest (a file of 256 KiB chunks and 174 links is 4 deep at 200 GB).
    var maxDepth = 64

    /// A file's size and whether a CID is a file, directory or something else, from its first block.
    enum Node: Sendable {
        /// `whole`: the file's bytes when this block holds all of them — a raw block, or a UnixFS file node without
        /// links (every metadata file Kiln publishes, most images) — so an answer needs no walk; else nil.
        case file(size: UInt64, whole: ArraySlice<UInt8>?)
        case directory(links: [DagPBLink])
        /// A HAMT-sharded directory's shard (kubo's, for folders past its threshold).
        case shard(links: [DagPBLink])
        case other(String)
    }

    /// What the block at `cid` is.
    static func node(_ cid: CID, _ block: [UInt8]) throws(ContentError) -> Node {
        if cid.codec == CID.raw { return .file(size: UInt64(block.count), whole: block[...]) }
        guard cid.codec == CID.dagPB else { return .other("codec 0x\(String(cid.codec, radix: 16))") }
        let node = try DagPBNode(decoding: block)
        let data = try UnixFSData(decoding: node.data ?? [])
        switch data.kind {
        case .file, .raw:
            let bytes = data.data ?? []
            let size = data.fileSize ?? UInt64(bytes.count)
            return .file(size: size, whole: node.links.isEmpty && UInt64(bytes.count) == size ? bytes[...] : nil)
        case .directory: return .directory(links: node.links)
        case .hamtShard:
            guard data.hashType == 0x22, data.fanout == 256 else {
                return .other(
                    "a HAMT shard of hash 0x\(String(data.hashType ?? 0, radix: 16)), fanout \(data.fanout ?? 0)"
                )
            }
            return .shard(links: node.links)
        case .symlink: return .other("a symlink")
        case .metadata: return .other("a UnixFS metadata node")
        }
    }

    /// The whole DAG under `cid`, depth-first in link order; with `seen`, each block once.
    func all<S: DAGSink>(_ cid: CID, into sink: inout S, seen: inout Set<CID>?, depth: Int = 0) async throws {
        guard depth <= maxDepth else { throw ContentError(.invalidBlock, "The DAG under \(cid) nests too deeply") }
        if seen != nil, !(seen!.insert(cid.v1).inserted) { return }
        let block = try await reader.get(cid)
        if !cid.isIdentity { try await sink.block(cid, block) }
        guard cid.codec == CID.dagPB else { return }
        for link in try DagPBNode(decoding: block).links {
            try await all(link.cid, into: &sink, seen: &seen, depth: depth + 1)
        }
    }

    /// Every shard block of the HAMT-sharded directory at `cid` (its root block, already read, first), depth-first;
    /// links named by a slot alone are sub-shards, the others entries (not visited).
    func shards<S: DAGSink>(
        _ cid: CID,
        block: [UInt8],
        into sink: inout S,
        seen: inout Set<CID>?,
        depth: Int = 0
    ) async throws {
        guard depth <= 8 else { throw ContentError(.invalidBlock, "The HAMT under \(cid) nests too deeply") }
        if seen?.insert(cid.v1).inserted ?? true, !cid.isIdentity { try await sink.block(cid, block) }
        for link in try DagPBNode(decoding: block).links where link.name.utf8.count == 2 {
            try await shards(
                link.cid,
                block: try await reader.get(link.cid),
                into: &sink,
                seen: &seen,
                depth: depth + 1
            )
        }
    }

    /// The blocks of the file at `cid` that hold bytes `range` (inclusive offsets), with those bytes as content.
    /// `block` is the file's root block, already read.
    func file<S: DAGSink>(
        _ cid: CID,
        block: [UInt8],
        range: ClosedRange<UInt64>,
        into sink: inout S,
        seen: inout Set<CID>?
    ) async throws {
        try await visit(cid, block: block, offset: 0, range: range, into: &sink, seen: &seen, depth: 0)
    }

    private func visit<S: DAGSink>(
        _ cid: CID,
        block given: [UInt8]?,
        offset: UInt64,
        range: ClosedRange<UInt64>,
        into sink: inout S,
        seen: inout Set<CID>?,
        depth: Int
    ) async throws {
        guard depth <= maxDepth else { throw ContentError(.invalidBlock, "File \(cid) nests too deeply") }
        let block: [UInt8]
        if let given { block = given } else { block = try await reader.get(cid) }
        // A block met again (the same chunk twice) is sent once unless dups=y; its bytes are content each time.
        let first = seen?.insert(cid.v1).inserted ?? true
        if first && !cid.isIdentity { try await sink.block(cid, block) }
        if cid.codec == CID.raw {
            try await emit(block[...], at: offset, range: range, into: &sink)
            return
        }
        guard cid.codec == CID.dagPB else {
            throw ContentError(.unsupported, "File block \(cid) is neither raw nor dag-pb")
        }
        let node = try DagPBNode(decoding: block)
        let data = try UnixFSData(decoding: node.data ?? [])
        guard data.kind == .file || data.kind == .raw else {
            throw ContentError(.invalidBlock, "\(cid) inside a file is a UnixFS \(data.kind)")
        }
        let inline = data.data ?? []
        try await emit(inline[...], at: offset, range: range, into: &sink)
        guard data.blockSizes.count == node.links.count else {
            throw ContentError(
                .invalidBlock,
                "File node \(cid) has \(node.links.count) links but \(data.blockSizes.count) block sizes"
            )
        }
        var start = offset + UInt64(inline.count)
        for (link, size) in zip(node.links, data.blockSizes) {
            let end = start + size  // exclusive
            if size > 0 && start <= range.upperBound && end > range.lowerBound {
                try await visit(
                    link.cid,
                    block: nil,
                    offset: start,
                    range: range,
                    into: &sink,
                    seen: &seen,
                    depth: depth + 1
                )
            }
            start = end
            if start > range.upperBound { break }
        }
    }

    private func emit<S: DAGSink>(
        _ bytes: ArraySlice<UInt8>,
        at offset: UInt64,
        range: ClosedRange<UInt64>,
        into sink: inout S
    )
        async throws
    {
        guard !bytes.isEmpty else { return }
        let end = offset + UInt64(bytes.count) - 1
        guard offset <= range.upperBound && end >= range.lowerBound else { return }
        let from = bytes.startIndex + Int(max(offset, range.lowerBound) - offset)
        let to = bytes.startIndex + Int(min(end, range.upperBound) - offset)
        try await sink.content(bytes[from...to])
    }
}
