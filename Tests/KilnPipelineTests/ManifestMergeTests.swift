import BigInt
import Foundation
import KilnContent
import KilnCore
import KilnStore
import KilnTesting
import Testing

@testable import KilnPipeline

/// A batch brings `manifest.json` up to date by merging the tokens published since into the file the last batch
/// wrote: the bytes are always those of the manifest written whole, and a file the store's mark does not describe
/// (edited, touched, removed) is written whole again.
struct ManifestMergeTests {
    let contracts = [
        try! Address(hex: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
        try! Address(hex: "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"),
    ]

    func publish(_ items: [(Int, UInt64, String)], into store: SQLiteStore) async throws {
        try await publishInOneBatch(items, contracts: contracts, into: store)
    }

    @Test func eachBatchMergesWhatItPublishedIntoTheSameBytes() async throws {
        let folder = try temporaryFolder("manifest-merge")
        let store = try SQLiteStore(path: folder.appendingPathComponent("kiln.sqlite").path)
        var outputs = try manifestOutputs(store, in: folder, contracts: contracts)
        outputs.manifestPage = 2  // the tokens since the mark over several pages
        let path = folder.appendingPathComponent("manifest.json").path
        func expectWhole(_ what: Comment) async throws {
            let whole = try await outputs.manifest().json.canonicalBytes()
            #expect(try FileBytes.read(path, limit: 1 << 20) == whole, what)
        }

        try await publish([(0, 10, "a"), (0, 9, "b"), (1, 2, "c")], into: store)
        #expect(try await outputs.writeManifest(to: path) == .whole, "no mark yet")
        try await expectWhole("first batch")
        #expect(try await outputs.writeManifest(to: path) == .upToDate)

        // Before the first key, between keys, after the last, in the other collection; a new version; the same
        // metadata again (no new history entry); ids whose text and numeric orders differ.
        try await publish(
            [(0, 1, "d"), (0, 100, "e"), (0, 95, "f"), (1, 3, "g"), (0, 9, "h"), (0, 10, "a"), (1, 1, "i")],
            into: store
        )
        #expect(try await outputs.writeManifest(to: path) == .merged(tokens: 7))
        try await expectWhole("merged")

        // Only replacements.
        try await publish([(0, 9, "j"), (1, 2, "k")], into: store)
        #expect(try await outputs.writeManifest(to: path) == .merged(tokens: 2))
        try await expectWhole("replaced")

        // A file changed behind Kiln's back is not merged into: touched, edited, removed.
        try await publish([(0, 7, "l")], into: store)
        var later = timespec(tv_sec: 2_000_000_000, tv_nsec: 0)
        _ = withUnsafePointer(to: &later) { point in
            [point.pointee, point.pointee].withUnsafeBufferPointer { utimensat(AT_FDCWD, path, $0.baseAddress, 0) }
        }
        #expect(try await outputs.writeManifest(to: path) == .whole, "touched")
        try await expectWhole("after a touch")

        try await publish([(0, 8, "m")], into: store)
        // Still a file the scan would merge into, and carry the edit on.
        let text = String(decoding: try FileBytes.read(path, limit: 1 << 20), as: UTF8.self)
        try AtomicFile.write(
            Array(text.replacing(#""history":[]"#, with: #""history":[ ]"#, maxReplacements: 1).utf8),
            to: path
        )
        #expect(try await outputs.writeManifest(to: path) == .whole, "edited")
        try await expectWhole("after an edit")

        try await publish([(0, 6, "n")], into: store)
        try FileManager.default.removeItem(atPath: path)
        #expect(try await outputs.writeManifest(to: path) == .whole, "removed")
        try await expectWhole("after a removal")

        // More tokens since the mark than a merge holds: written whole.
        outputs.mergeLimit = 3
        try await publish((200..<205).map { (1, $0, "o\($0)") }, into: store)
        #expect(try await outputs.writeManifest(to: path) == .whole, "five tokens")
        try await expectWhole("a larger batch")
    }

    /// The scan refuses what it cannot merge into rather than guess.
    @Test(arguments: [
        #"{"kiln":"0","profile":"kubo-v1","tokens":{"b":{"x":"1"},"a":{"x":"2"}}}"#,  // keys out of order
        #"{"kiln":"0","profile":"kubo-v1","tokens":{"a":{"x":"1"},"a":{"x":"2"}}}"#,  // a key twice
        #"{"kiln":"0","profile":"kubo-v1","tokens":{"a":{"x":"1"}"#,  // cut short
        #"{"kiln":"0","profile":"kubo-v1","tokens":{"a":{"x":"1"}}} "#,  // something after it
        #"{"kiln":"0","profile":"kubo-v2","tokens":{"a":{"x":"1"}}}"#,  // another head
        #"{"kiln":"0","profile":"kubo-v1","tokens":{"a":{"x":{"y":"1"}}}}"#,  // a nested object
    ])
    func aFileThatIsNotAManifestIsNotMergedInto(_ text: String) throws {
        let folder = try temporaryFolder("manifest-merge-bad")
        let writer = try AtomicFile.Writer(path: folder.appendingPathComponent("m.json").path)
        let head = Array(#"{"kiln":"0","profile":"kubo-v1","tokens":{"#.utf8)
        let changed = [ManifestMerge.Entry(key: Array("c".utf8), bytes: Array(#""c":{"x":"3"}"#.utf8))]
        let merged = try Array(text.utf8).withUnsafeBytes {
            try ManifestMerge.merge($0, head: head, changed: changed, into: writer)
        }
        #expect(!merged)
    }

    @Test func entriesGoInKeyOrder() throws {
        let folder = try temporaryFolder("manifest-merge-order")
        let path = folder.appendingPathComponent("m.json").path
        let head = Array(#"{"kiln":"0","profile":"kubo-v1","tokens":{"#.utf8)
        func entry(_ key: String, _ value: String) -> ManifestMerge.Entry {
            ManifestMerge.Entry(key: Array(key.utf8), bytes: Array(#""\#(key)":{"x":"\#(value)"}"#.utf8))
        }
        for (old, changed, expected) in [
            ("", [entry("a", "1")], #""a":{"x":"1"}"#),
            (#""b":{"x":"1"}"#, [entry("a", "2"), entry("c", "3")], #""a":{"x":"2"},"b":{"x":"1"},"c":{"x":"3"}"#),
            (#""a":{"x":"1"},"c":{"x":"1"}"#, [entry("b", "2")], #""a":{"x":"1"},"b":{"x":"2"},"c":{"x":"1"}"#),
            (
                #""a":{"x":"1"},"ab":{"x":"1"},"b":{"x":"1"}"#, [entry("ab", "2")],
                #""a":{"x":"1"},"ab":{"x":"2"},"b":{"x":"1"}"#
            ),
            (#""a":{"x":"1"},"b":{"x":"1"}"#, [], #""a":{"x":"1"},"b":{"x":"1"}"#),
        ] as [(String, [ManifestMerge.Entry], String)] {
            for window in [1, 20, 1 << 20] {  // unchanged entries copied one by one, a few at a time, all at once
                let writer = try AtomicFile.Writer(path: path)
                let file = Array(head) + Array(old.utf8) + Array("}}".utf8)
                #expect(
                    try file.withUnsafeBytes {
                        try ManifestMerge.merge($0, head: head, changed: changed, into: writer, window: window)
                    }
                )
                try writer.commit()
                let merged = String(decoding: try FileBytes.read(path, limit: 1 << 10), as: UTF8.self)
                #expect(merged == String(decoding: head, as: UTF8.self) + expected + "}}", "window \(window)")
            }
        }
    }
}

/// Publishes (contract index, token id, metadata text) in one new batch, each its own job, and closes it.
func publishInOneBatch(_ items: [(Int, UInt64, String)], contracts: [Address], into store: SQLiteStore) async throws {
    func cid(_ text: String) throws -> String { try Importer().add(bytes: Array(text.utf8)).cid.description }
    let batch = try await store.openBatch().number
    for (index, (contract, id, metadata)) in items.enumerated() {
        let token = TokenKey(chainId: 31337, contract: contracts[contract], id: .init(id))
        let job = try await store.enqueue(
            token,
            stateVersion: 1,
            stateHash: Bytes32(word: UInt64(batch) << 32 | UInt64(index)),
            templateHash: .zero
        ).job
        _ = try await store.lease(owner: "t", limit: 1, seconds: 60, now: 1, batch: batch, only: [job.id])
        try await store.complete(
            Publication(
                jobId: job.id,
                batch: batch,
                token: token,
                stateHash: job.stateHash,
                templateHash: .zero,
                directory: try cid("dir " + metadata),
                metadata: try cid(metadata),
                image: try cid("image " + metadata),
                thumbnail: try cid("thumb " + metadata),
                inference: nil,
                attestation: nil,
                template: try cid("template")
            ),
            owner: "t"
        )
    }
    try await store.closeBatch(batch)
}

/// The batch outputs of a files-mode site in `folder` (`blocks/` beside the store), for the manifest tests.
func manifestOutputs(_ store: SQLiteStore, in folder: URL, contracts: [Address]) throws -> BatchOutputs {
    BatchOutputs(
        store: store,
        blockstore: try FilesystemBlockstore(folder: folder.appendingPathComponent("blocks").path),
        profile: .kuboV1,
        out: folder.path,
        chainId: 31337,
        contracts: contracts,
        publishMode: .files,
        onchain: nil
    )
}
