// Kiln — Apache-2.0. See LICENSE.

internal import Crypto
internal import Foundation
internal import KilnContent
internal import KilnCore
internal import KilnStore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `publish.manifest: sharded`: the list of every published token in 256 files, `manifest/00.json` …
/// `manifest/ff.json`, so that a batch that changes a few tokens (`kiln regen` of one) writes the few files they are
/// in rather than one file that lists the whole collection. A token's entry is in the file named by the first byte
/// of SHA-256 of its key (`chainId:Contract#id`, UTF-8), in lowercase hex; each file is a manifest of its tokens,
/// byte for byte what `manifest.json` would be with only them (the same head, entries and key order). `manifest.json`
/// itself then says where the entries are: `{"kiln":…,"profile":…,"shards":{"count":256,"folder":"manifest",
/// "hash":"sha2-256"}}`.
///
/// A hash spreads any ids evenly (sequential, sparse, 256-bit), where ranges of ids would not; a reader finds a
/// token's file with any SHA-256 (`sha256sum`, `hashlib`).
///
/// The store keeps one ``OutputMark`` for the set (named by the folder's path and a `/`): the last publication
/// row every shard includes, and each shard's stamp, one per line. A batch merges the tokens published since into
/// their shards (``ManifestMerge``, one shard at a time) and renames each into place; any shard not as Kiln left it,
/// and all 256 are written whole again.
enum ManifestShards {
    /// How many shards: the first byte of the hash.
    static let count = 256
    /// The folder beside `manifest.json` that holds them.
    static let folder = "manifest"

    /// The shard of a token's key (its UTF-8 bytes, as ``ManifestMerge/Entry/key``).
    static func shard(of key: [UInt8]) -> Int {
        Int(SHA256.hash(data: key).withUnsafeBytes { $0[0] })
    }

    /// A shard's file name: `00.json` … `ff.json`.
    static func fileName(_ shard: Int) -> String { Hex.encode([UInt8(shard)], prefix: false) + ".json" }

    /// Lets the process hold every shard open at once while they are written whole: the soft limit on open files
    /// raised to at least `count` + 256 within the hard limit (macOS's default soft limit is 256 files). Past the
    /// hard limit, opening a shard fails with an error that names it.
    static func allowOpenShards() {
        #if canImport(Glibc)
            let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
            let resource = RLIMIT_NOFILE
        #endif
        var limit = rlimit()
        let wanted = rlim_t(count + 256)
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < wanted else { return }
        limit.rlim_cur = min(wanted, limit.rlim_max)
        _ = setrlimit(resource, &limit)
    }

    /// `manifest.json` of a sharded site: where the entries are.
    static func index(profile: String) -> JSONValue {
        [
            "kiln": .string(KilnVersion.current), "profile": .string(profile),
            "shards": ["count": .number(count), "folder": .string(folder), "hash": "sha2-256"],
        ]
    }
}

extension BatchOutputs {
    /// `manifest.json` as the index of its shards and every shard brought up to date: merged when the store's mark
    /// says what the shards hold and none was changed behind Kiln's back, else all written whole.
    @discardableResult
    func writeShardedManifest(index path: String) async throws -> ManifestWrite {
        let index = try ManifestShards.index(profile: profile.name).canonicalBytes()
        if (try? FileBytes.read(path, limit: 1 << 16)) != index {
            try AtomicFile.write(index, to: path)
        }
        let folder = (path as NSString).deletingLastPathComponent + "/" + ManifestShards.folder
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let paths = (0..<ManifestShards.count).map { folder + "/" + ManifestShards.fileName($0) }
        let name = URL(fileURLWithPath: folder).standardizedFileURL.path + "/"
        if let mark = try await store.outputMark(name), mark.stamp == Self.stamps(paths),
            let merged = try await mergeShards(paths, name: name, mark: mark)
        {
            return merged
        }
        try await writeWholeShards(paths, name: name)
        return .whole
    }

    /// The shards' stamps, one per line (``ManifestMerge/stamp(of:)``); a missing shard's line is empty, which no
    /// recorded stamp equals.
    private static func stamps(_ paths: [String]) -> String {
        paths.map { ManifestMerge.stamp(of: $0) ?? "" }.joined(separator: "\n")
    }

    /// Merges the tokens published since the mark into the shards they are in; nil when it could not (too many to
    /// hold, or a shard is not one to merge into — the shards merged before it are then written whole with the rest).
    private func mergeShards(_ paths: [String], name: String, mark: OutputMark) async throws -> ManifestWrite? {
        guard let (changed, last) = try await entriesPublished(after: mark.publication) else { return nil }
        guard last > mark.publication else { return .upToDate }
        var stamps = mark.stamp.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let head = try manifestHead
        // Entries stay in key order within each shard.
        let byShard = Dictionary(grouping: changed) { ManifestShards.shard(of: $0.key) }
        for (shard, entries) in byShard.sorted(by: { $0.key < $1.key }) {
            let writer = try AtomicFile.Writer(path: paths[shard])
            guard try ManifestMerge.merge(old: paths[shard], head: head, changed: entries, into: writer) else {
                return nil
            }
            try writer.commit(syncFolder: false)
            guard let stamp = ManifestMerge.stamp(of: paths[shard]) else { return nil }
            stamps[shard] = stamp
        }
        try AtomicFile.syncFolder(of: paths[0])
        try await store.setOutputMark(name, OutputMark(publication: last, stamp: stamps.joined(separator: "\n")))
        return .merged(tokens: changed.count)
    }

    /// Every shard written whole, all at once from one pass over the publications (a page at a time).
    private func writeWholeShards(_ paths: [String], name: String) async throws {
        let head = try manifestHead
        ManifestShards.allowOpenShards()
        let writers = try paths.map { path throws(AtomicFile.WriteError) in try AtomicFile.Writer(path: path) }
        var empty = [Bool](repeating: true, count: writers.count)
        for writer in writers { try writer.write(head) }
        let lastRow = try await forEachManifestEntry { entry in
            let shard = ManifestShards.shard(of: entry.key)
            if !empty[shard] { try writers[shard].write(CollectionOfOne(UInt8(ascii: ","))) }
            empty[shard] = false
            try writers[shard].write(entry.bytes)
        }
        for writer in writers {
            try writer.write(Array("}}".utf8))
            try writer.commit(syncFolder: false)
        }
        try AtomicFile.syncFolder(of: paths[0])
        try await store.setOutputMark(name, OutputMark(publication: lastRow, stamp: Self.stamps(paths)))
    }
}
