// Kiln — Apache-2.0. See LICENSE.

/// A UnixFS directory sharded as kubo shards it past ``ImportProfile/hamtThreshold``: a HAMT of width 256 keyed
/// by murmur3-x64-64 of each name (boxo `ipld/unixfs/hamt`, `Shard.Node` and `Shard.setValue`).
///
/// Each shard is a dag-pb node whose UnixFS data is `{Type: HAMTShard, Data: bitfield, HashType: 0x22,
/// Fanout: 256}`. At depth `d` a name goes to slot `hash[d]` (the hash read most significant byte first); a slot
/// with one name links to its entry under `XX` + name (`XX` the slot in upper-case hex), a slot with several
/// links to a sub-shard under `XX` alone. The bitfield is the 256-bit big-endian integer with bit `i` set for
/// every used slot, leading zero bytes removed (go-bitfield's `Bytes`). Inserting names one by one, as kubo
/// does, gives this same tree whatever the order, so it is built here from the sorted set at once.
public enum HAMTDirectory {
    static let fanout = 256
    /// The multicodec of murmur3-x64-64.
    static let murmur3 = UInt64(0x22)

    static func build(
        _ entries: [String: FileDAGBuilder.Entry],
        profile: ImportProfile,
        path: String,
        store: (CID, [UInt8]) throws(ContentError) -> Void
    ) throws(ContentError) -> FileDAGBuilder.Entry {
        let hashed = entries.map { (name: $0.key, hash: Murmur3.x64Hash64(Array($0.key.utf8)), entry: $0.value) }
        return try shard(hashed, depth: 0, profile: profile, path: path, store: store)
    }

    private static func shard(
        _ entries: [(name: String, hash: UInt64, entry: FileDAGBuilder.Entry)],
        depth: Int,
        profile: ImportProfile,
        path: String,
        store: (CID, [UInt8]) throws(ContentError) -> Void
    ) throws(ContentError) -> FileDAGBuilder.Entry {
        guard depth < 8 else {
            throw ContentError(
                .unsupported,
                "Refusing directory '\(path)': names \(entries.map { "'\($0.name)'" }.joined(separator: ", ")) have the same 64-bit hash"
            )
        }
        var slots = [[(name: String, hash: UInt64, entry: FileDAGBuilder.Entry)]](repeating: [], count: fanout)
        for item in entries { slots[Int((item.hash >> UInt64(56 - 8 * depth)) & 0xff)].append(item) }
        var bitfield = [UInt8](repeating: 0, count: fanout / 8)
        var links: [DagPBLink] = []
        var fileSize: UInt64 = 0
        for (slot, items) in slots.enumerated() where !items.isEmpty {
            bitfield[fanout / 8 - 1 - slot / 8] |= 1 << UInt8(slot % 8)
            let prefix = hexDigits(slot)
            if items.count == 1 {
                links.append(
                    DagPBLink(cid: items[0].entry.cid, name: prefix + items[0].name, tsize: items[0].entry.tsize)
                )
                fileSize += items[0].entry.fileSize
            } else {
                let child = try shard(items, depth: depth + 1, profile: profile, path: path, store: store)
                links.append(DagPBLink(cid: child.cid, name: prefix, tsize: child.tsize))
                fileSize += child.fileSize
            }
        }
        let data = UnixFSData(
            kind: .hamtShard,
            data: Array(bitfield.drop { $0 == 0 }),
            hashType: murmur3,
            fanout: UInt64(fanout)
        )
        let block = DagPBNode(links: links, data: data.bytes).bytes
        let cid = CID.of(block, codec: CID.dagPB, version: profile.cidVersion)
        try store(cid, block)
        return FileDAGBuilder.Entry(
            cid: cid,
            tsize: UInt64(block.count) + links.reduce(0) { $0 + $1.tsize },
            fileSize: fileSize
        )
    }

    /// The link-name prefix under which a shard at `depth` holds `name` (its slot in upper-case hex): the link
    /// is named prefix + name when it is the entry, the prefix alone when it is a sub-shard to descend into.
    /// `nil` past the hash's 8 levels.
    public static func prefix(of name: String, depth: Int) -> String? {
        guard (0..<8).contains(depth) else { return nil }
        return hexDigits(Int((Murmur3.x64Hash64(Array(name.utf8)) >> UInt64(56 - 8 * depth)) & 0xff))
    }

    private static func hexDigits(_ slot: Int) -> String {
        let digits = Array("0123456789ABCDEF")
        return String([digits[slot >> 4], digits[slot & 15]])
    }
}

/// MurmurHash3's x64 128-bit variant, seed 0, first half — what kubo's HAMT hashes names with
/// (`github.com/spaolacci/murmur3` `New64`). Written here because no package Kiln uses offers it and the
/// shard layout, and so every CID of a large directory, depends on it bit for bit.
enum Murmur3 {
    static func x64Hash64(_ bytes: [UInt8]) -> UInt64 {
        let c1: UInt64 = 0x87c3_7b91_1142_53d5
        let c2: UInt64 = 0x4cf5_ad43_2745_937f
        var h1: UInt64 = 0
        var h2: UInt64 = 0
        func word(_ offset: Int, _ count: Int) -> UInt64 {
            var value: UInt64 = 0
            for index in stride(from: count - 1, through: 0, by: -1) {
                value = value << 8 | UInt64(bytes[offset + index])
            }
            return value
        }
        func rotl(_ value: UInt64, _ shift: UInt64) -> UInt64 { value << shift | value >> (64 - shift) }
        let blocks = bytes.count / 16
        for block in 0..<blocks {
            var k1 = word(block * 16, 8)
            var k2 = word(block * 16 + 8, 8)
            k1 = rotl(k1 &* c1, 31) &* c2
            h1 ^= k1
            h1 = rotl(h1, 27) &+ h2
            h1 = h1 &* 5 &+ 0x52dc_e729
            k2 = rotl(k2 &* c2, 33) &* c1
            h2 ^= k2
            h2 = rotl(h2, 31) &+ h1
            h2 = h2 &* 5 &+ 0x3849_5ab5
        }
        let tail = blocks * 16
        let rest = bytes.count - tail
        if rest > 8 {
            let k2 = rotl(word(tail + 8, rest - 8) &* c2, 33) &* c1
            h2 ^= k2
        }
        if rest > 0 {
            let k1 = rotl(word(tail, min(rest, 8)) &* c1, 31) &* c2
            h1 ^= k1
        }
        h1 ^= UInt64(bytes.count)
        h2 ^= UInt64(bytes.count)
        h1 = h1 &+ h2
        h2 = h2 &+ h1
        func mix(_ value: UInt64) -> UInt64 {
            var k = value
            k ^= k >> 33
            k = k &* 0xff51_afd7_ed55_8ccd
            k ^= k >> 33
            k = k &* 0xc4ce_b9fe_1a85_ec53
            return k ^ k >> 33
        }
        h1 = mix(h1)
        h2 = mix(h2)
        return h1 &+ h2
    }
}
