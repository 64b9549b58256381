import Foundation
import KilnContent
import KilnCore
import KilnStore
import KilnTesting
import Testing

@testable import KilnPipeline

/// `publish.manifest: sharded`: `manifest.json` names 256 shard files, each token's entry is in the one the first
/// byte of SHA-256 of its key names — checked with coreutils' `sha256sum`, not the swift-crypto Kiln hashes with —,
/// each shard holds the bytes of the whole manifest cut down to its tokens, and a batch rewrites only the shards its
/// tokens are in.
struct ManifestShardTests {
    let contracts = [
        try! Address(hex: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        try! Address(hex: "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"),
    ]

    /// A token key's shard name (`3f`) by `sha256sum`.
    func shardName(_ key: String) async throws -> String {
        let result = try await KilnProcess.run([], stdin: key, program: URL(fileURLWithPath: "/usr/bin/sha256sum"))
        #expect(result.status == 0, "sha256sum: \(result.stderr)")
        return String(result.stdout.prefix(2))
    }

    /// Checks every shard against the manifest written whole from the store; returns each token's shard name.
    @discardableResult
    func expectShards(_ outputs: BatchOutputs, in folder: URL, _ what: Comment) async throws -> [String: String] {
        let whole = try await outputs.manifest().json
        guard case .object(let tokens)? = whole["tokens"] else {
            Issue.record("the whole manifest has no tokens")
            return [:]
        }
        var shardOf: [String: String] = [:]
        for key in tokens.keys { shardOf[key] = try await shardName(key) }
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("manifest").path)
        #expect(names.count == 256 && Set(names).count == 256, what)
        for shard in 0..<256 {
            let name = String(format: "%02x", shard)
            let expected = JSONValue.object([
                "kiln": whole["kiln"]!, "profile": whole["profile"]!,
                "tokens": .object(tokens.filter { shardOf[$0.key] == name }),
            ])
            let bytes = try FileBytes.read(
                folder.appendingPathComponent("manifest/\(name).json").path,
                limit: 1 << 20
            )
            #expect(bytes == (try expected.canonicalBytes()), "\(what): shard \(name)")
        }
        return shardOf
    }

    /// Each shard's stamp, by name.
    func stamps(_ folder: URL) -> [String: String] {
        var stamps: [String: String] = [:]
        for shard in 0..<256 {
            let name = String(format: "%02x", shard)
            stamps[name] = ManifestMerge.stamp(of: folder.appendingPathComponent("manifest/\(name).json").path)
        }
        return stamps
    }

    @Test func shardsHoldTheWholeManifestAndABatchRewritesOnlyItsShards() async throws {
        let folder = try temporaryFolder("manifest-shards")
        let store = try SQLiteStore(path: folder.appendingPathComponent("kiln.sqlite").path)
        var outputs = try manifestOutputs(store, in: folder, contracts: contracts)
        outputs.manifestLayout = .sharded
        outputs.manifestPage = 2
        let index = folder.appendingPathComponent("manifest.json").path

        try await publishInOneBatch([(0, 10, "a"), (0, 9, "b"), (1, 2, "c")], contracts: contracts, into: store)
        #expect(try await outputs.writeShardedManifest(index: index) == .whole, "no mark yet")
        try await expectShards(outputs, in: folder, "first batch")
        let said = try JSONValue.parse(bytes: try FileBytes.read(index, limit: 1 << 16))
        #expect(said["tokens"] == Optional<JSONValue>.none, "the index lists no tokens")
        #expect(said["shards"] == ["count": 256, "folder": "manifest", "hash": "sha2-256"])
        #expect(said["profile"] == .string(ImportProfile.kuboV1.name))
        #expect(try await outputs.writeShardedManifest(index: index) == .upToDate)

        // New tokens in both collections, a new version, the same metadata again: only their shards are written.
        let before = stamps(folder)
        let items: [(Int, UInt64, String)] = [(0, 1, "d"), (0, 100, "e"), (1, 3, "f"), (0, 9, "g"), (0, 10, "a")]
        try await publishInOneBatch(items, contracts: contracts, into: store)
        #expect(try await outputs.writeShardedManifest(index: index) == .merged(tokens: 5))
        let shardOf = try await expectShards(outputs, in: folder, "merged")
        let touched = Set(items.map { shardOf["31337:\(contracts[$0.0].checksummed)#\($0.1)"]! })
        let after = stamps(folder)
        let rewritten = Set(after.keys.filter { after[$0] != before[$0] })
        #expect(rewritten == touched, "only the shards of the batch's tokens are written again")

        // A shard changed behind Kiln's back (touched, or removed): all are written whole again.
        let untouched = try #require(after.keys.sorted().first { !touched.contains($0) })
        let path = folder.appendingPathComponent("manifest/\(untouched).json").path
        var later = timespec(tv_sec: 2_000_000_000, tv_nsec: 0)
        _ = withUnsafePointer(to: &later) { point in
            [point.pointee, point.pointee].withUnsafeBufferPointer { utimensat(AT_FDCWD, path, $0.baseAddress, 0) }
        }
        try await publishInOneBatch([(1, 7, "h")], contracts: contracts, into: store)
        #expect(try await outputs.writeShardedManifest(index: index) == .whole, "touched")
        try await expectShards(outputs, in: folder, "touched")
        try FileManager.default.removeItem(atPath: path)
        try await publishInOneBatch([(1, 8, "i")], contracts: contracts, into: store)
        #expect(try await outputs.writeShardedManifest(index: index) == .whole, "removed")
        try await expectShards(outputs, in: folder, "removed")

        // Back to one file: written whole over the index. Sharded again: the shards catch up on what was published
        // in between.
        try await publishInOneBatch([(0, 5, "j")], contracts: contracts, into: store)
        #expect(try await outputs.writeManifest(to: index) == .whole)
        #expect(try FileBytes.read(index, limit: 1 << 20) == (try await outputs.manifest().json.canonicalBytes()))
        try await publishInOneBatch([(0, 6, "k")], contracts: contracts, into: store)
        #expect(try await outputs.writeShardedManifest(index: index) == .merged(tokens: 2))
        try await expectShards(outputs, in: folder, "sharded again")
        #expect(try FileBytes.read(index, limit: 1 << 16) == (try said.canonicalBytes()))
    }

    @Test func shardNamesAreTheHashsFirstByte() async throws {
        for key in [
            "31337:0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed#1", "1:0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359#0",
        ] {
            let shard = ManifestShards.shard(of: Array(key.utf8))
            #expect(ManifestShards.fileName(shard) == (try await shardName(key)) + ".json", "\(key)")
        }
        #expect((0..<256).map(ManifestShards.fileName) == (0..<256).map { String(format: "%02x.json", $0) })
    }
}
