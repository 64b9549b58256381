import BigInt
import Foundation
import KilnContent
import KilnCore
import KilnStore
import KilnTesting
import Testing

@testable import KilnPipeline

/// `manifest.json` is written a page of publications at a time: the bytes of the whole manifest built in memory,
/// whatever the page boundaries, ids whose text and numeric orders differ, several collections, versions, a
/// version that republishes the same metadata.
struct ManifestStreamTests {
    @Test func theStreamedManifestIsTheManifestsBytes() async throws {
        let folder = try temporaryFolder("manifest-stream")
        let store = try SQLiteStore(path: folder.appendingPathComponent("kiln.sqlite").path)
        let contracts = [
            try Address(hex: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
            try Address(hex: "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"),
        ]
        try await publishInOneBatch(
            [
                (0, 10, "a"), (0, 9, "b"), (1, 2, "c"), (0, 100, "d"), (0, 9, "e"), (0, 9, "e"), (1, 2, "f"),
                (0, 1, "g"),
                (0, 9, "h"),
            ],
            contracts: contracts,
            into: store
        )
        var outputs = try manifestOutputs(store, in: folder, contracts: contracts)
        let streamed = folder.appendingPathComponent("manifest.json").path
        let whole = try await outputs.manifest()
        for page in [1, 2, 3, 4_096] {  // a token's versions across page ends, and one page
            outputs.manifestPage = page
            try await outputs.writeManifest(to: streamed)
            #expect(
                try FileBytes.read(streamed, limit: 1 << 20) == (try whole.json.canonicalBytes()),
                "pages of \(page)"
            )
        }
        #expect(whole.entries.count == 5)
        let nine = try #require(whole.entries["31337:\(contracts[0].checksummed)#9"])
        #expect(nine.history.count == 2, "b then e (e twice is one version), h current")
    }
}
