import Foundation
import KilnContent
import KilnCore
import KilnTesting
import Testing

struct BlockstoreTests {
    @Test func storesVerifiesAndReportsMissingBlocks() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try FilesystemBlockstore(folder: folder.appendingPathComponent("deep/blocks").path)
        let block = Array("some block".utf8)
        let cid = CID.of(block, codec: CID.raw)
        #expect(!store.has(cid))
        await #expect { try await store.get(cid) } throws: { ($0 as! ContentError).code == .blockNotFound }
        try store.put(block, cid: cid)
        #expect(store.has(cid))
        #expect(try store.get(cid) == block)
        // No temporary files are left beside the blocks.
        #expect(try FileManager.default.contentsOfDirectory(atPath: store.folder) == [cid.description])
        // A block damaged on disk is refused on read.
        try Data(Array("some bl0ck".utf8)).write(to: URL(fileURLWithPath: store.folder + "/" + cid.description))
        #expect(
            throws: ContentError(
                .blockMismatch,
                "Block \(cid) in '\(store.folder)' does not match its hash: the file is corrupt"
            )
        ) {
            try store.get(cid)
        }
        // A CIDv0 and its CIDv1 name the same stored block.
        let pb = DagPBNode(links: [], data: UnixFSData(kind: .directory).bytes).bytes
        try store.put(pb, cid: CID.of(pb, codec: CID.dagPB, version: 0))
        #expect(store.has(CID.of(pb, codec: CID.dagPB, version: 1)))
    }
}

struct CARTests {
    /// A folder of a few files (one of three chunks) imported into a blockstore; returns the root and store.
    static func sampleStore(_ folder: URL, profile: ImportProfile = .kuboV1) async throws -> (CID, FilesystemBlockstore)
    {
        let content = folder.appendingPathComponent("content")
        try FileManager.default.createDirectory(
            at: content.appendingPathComponent("sub"),
            withIntermediateDirectories: true
        )
        try writeFile(content.appendingPathComponent("big.bin"), count: 600_000, seed: 1)
        try Data("hello world\n".utf8).write(to: content.appendingPathComponent("hello.txt"))
        try Data("hello world\n".utf8).write(to: content.appendingPathComponent("sub/same.txt"))  // a shared block
        try Data().write(to: content.appendingPathComponent("sub/empty"))
        let store = try FilesystemBlockstore(folder: folder.appendingPathComponent("blocks").path)
        return (try Importer(profile: profile).add(path: content.path, into: store).cid, store)
    }

    @Test func roundTripsAndPythonReadsIt() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        for profile in [ImportProfile.kuboV1, .kuboV0] {
            let (root, store) = try await Self.sampleStore(folder, profile: profile)
            let path = folder.appendingPathComponent("out-\(profile).car").path
            let written = try CARWriter.write(roots: [root], from: store, to: path)
            // Directory, big.bin's root + 3 leaves, hello (shared with sub/same.txt, written once), sub, empty.
            #expect(written == (profile.rawLeaves ? 8 : 8))
            let summary = try CARReader.verify(path: path)
            #expect(summary.roots == [root] && summary.blocks == written)
            // Depth-first from the root, in link order, each block once, every block from the store.
            let reader = try CARReader(path: path)
            var order: [CID] = []
            while let section = try reader.next() {
                order.append(section.cid)
                #expect(try store.get(section.cid) == section.block)
            }
            #expect(order.first == root)
            #expect(Set(order.map(\.v1)).count == order.count)
            let rootNode = try DagPBNode(decoding: try store.get(root))
            #expect(rootNode.links.map(\.name) == ["big.bin", "hello.txt", "sub"])
            #expect(order[1] == rootNode.links[0].cid, "the first child comes right after its parent")
            // An independent reader (dag-cbor + multiformats) agrees.
            let python = try await PythonBench.run("content.py", ["op": "read_car", "path": .string(path)])["result"]!
            #expect(python["version"] == 1)
            #expect(python["roots"]?.items.compactMap(\.stringValue) == [root.description])
            #expect(python["sections"]?.items.count == written)
            #expect(python["sections"]?.items.allSatisfy { $0["ok"] == true } == true)
            #expect(python["sections"]?.items.compactMap { $0["cid"]?.stringValue } == order.map(\.description))
        }
    }

    @Test func readsCARsThatPythonWrites() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = folder.appendingPathComponent("a.bin"), b = folder.appendingPathComponent("b.txt")
        try writeFile(a, count: 700_000, seed: 4)
        try Data("second root".utf8).write(to: b)
        let path = folder.appendingPathComponent("python.car").path
        let answer = try await PythonBench.run(
            "content.py",
            [
                "op": "write_car", "paths": [.string(a.path), .string(b.path)], "profile": ImportProfile.kuboV1.json,
                "out": .string(path),
            ]
        )["result"]!
        let summary = try CARReader.verify(path: path)
        #expect(summary.roots.map(\.description) == answer["roots"]?.items.compactMap(\.stringValue))
        #expect(.number(summary.blocks) == answer["blocks"])
        #expect(summary.roots[0] == (try Importer().add(path: a.path).cid))
    }

    @Test func aDamagedByteAnywhereIsFoundAndLocated() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        // A small CAR: a folder of three short files.
        let content = folder.appendingPathComponent("c")
        try FileManager.default.createDirectory(at: content, withIntermediateDirectories: true)
        for (name, text) in [("a", "alpha"), ("b", "bravo bravo"), ("c", "")] {
            try Data(text.utf8).write(to: content.appendingPathComponent(name))
        }
        let store = try FilesystemBlockstore(folder: folder.appendingPathComponent("blocks").path)
        let root = try Importer().add(path: content.path, into: store).cid
        let good = folder.appendingPathComponent("good.car").path
        try CARWriter.write(roots: [root], from: store, to: good)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: good)))
        // Where each section starts; byte i belongs to the last start ≤ i (the header is "section" 0).
        let reader = try CARReader(path: good)
        var starts = [0]
        while let section = try reader.next() { starts.append(section.offset) }
        #expect(starts.count == 5)
        let damaged = folder.appendingPathComponent("damaged.car").path
        for index in bytes.indices {
            for flip: UInt8 in [0x01, 0x80] {
                var copy = bytes
                copy[index] ^= flip
                try Data(copy).write(to: URL(fileURLWithPath: damaged))
                let expected = starts.last { $0 <= index }!
                do {
                    _ = try CARReader.verify(path: damaged)
                    Issue.record("byte \(index) ^ \(flip) went unnoticed")
                } catch {
                    #expect(error.offset == expected, "byte \(index) ^ \(flip): \(error.message)")
                }
            }
        }
    }

    @Test func malformedFilesGiveTypedErrors() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (root, store) = try await Self.sampleStore(folder)
        let good = folder.appendingPathComponent("good.car").path
        try CARWriter.write(roots: [root], from: store, to: good)
        let bytes = Array(try Data(contentsOf: URL(fileURLWithPath: good)))
        let path = folder.appendingPathComponent("bad.car").path
        func check(_ data: [UInt8], _ message: String, offset: Int?) async throws {
            try Data(data).write(to: URL(fileURLWithPath: path))
            #expect(throws: ContentError(.invalidCAR, message, offset: offset)) { try CARReader.verify(path: path) }
        }
        let headerLength = Int(bytes[0])
        let firstSection = 1 + headerLength
        try await check([], "Unable to read CAR '\(path)': the file is empty", offset: 0)
        try await check(
            Array(bytes.prefix(10)),
            "Unable to read CAR '\(path)': header length \(headerLength) is invalid or runs past the end",
            offset: 0
        )
        let last = lastSectionStart(bytes, firstSection)
        try await check(
            Array(bytes.prefix(bytes.count - 5)),
            "Unable to read CAR '\(path)' at byte \(last): truncated section (\(lastSectionBody(bytes, firstSection)) bytes announced)",
            offset: last
        )
        // A section announcing 2 GiB.
        try await check(
            Array(bytes.prefix(firstSection)) + Varint.encode(1 << 31),
            "Unable to read CAR '\(path)' at byte \(firstSection): section length 2147483648 exceeds the limit of 8388608 bytes",
            offset: firstSection
        )
        // A varint that never ends, and one that is not minimal.
        try await check(
            Array(bytes.prefix(firstSection)) + [0x80, 0x80],
            "Unable to read CAR '\(path)' at byte \(firstSection): truncated varint",
            offset: firstSection
        )
        try await check(
            Array(bytes.prefix(firstSection)) + [0x81, 0x00],
            "Unable to read CAR '\(path)' at byte \(firstSection): Unable to read varint at byte 0: not minimally encoded",
            offset: firstSection
        )
        // A header of another version.
        var header = CARHeader(roots: [root]).bytes
        header[header.count - 1] = 0x02
        try await check(
            Varint.encode(UInt64(header.count)) + header,
            "Unable to read CAR '\(path)': Unable to read CAR header: version 2, Kiln reads CAR v1",
            offset: 0
        )
        // A root that the file does not contain.
        let other = CID.of([9], codec: CID.raw)
        let lonely = CARHeader(roots: [other]).bytes
        try await check(
            Varint.encode(UInt64(lonely.count)) + lonely,
            "Unable to verify CAR '\(path)': root \(other) is not in the file",
            offset: 0
        )
    }

    /// The offset and body length of the last section of a well-formed CAR.
    func lastSectionStart(_ bytes: [UInt8], _ first: Int) -> Int {
        var offset = first
        var last = first
        while offset < bytes.count {
            last = offset
            let (length, size) = try! Varint.decode(bytes, at: offset)
            offset += size + Int(length)
        }
        return last
    }
    func lastSectionBody(_ bytes: [UInt8], _ first: Int) -> Int {
        Int(try! Varint.decode(bytes, at: lastSectionStart(bytes, first)).value)
    }

    @Test func headerEncodingIsDagCBOR() async throws {
        let cid = CID.of([], codec: CID.raw)
        let header = CARHeader(roots: [cid]).bytes
        // a2 65 "roots" 81 d8 2a 58 25 00 <cid> 67 "version" 01
        #expect(header.prefix(9) == [0xA2, 0x65, 0x72, 0x6F, 0x6F, 0x74, 0x73, 0x81, 0xD8])
        #expect(Array(header[9...12]) == [0x2A, 0x58, UInt8(cid.bytes.count + 1), 0x00])
        #expect(header.suffix(9) == [0x67, 0x76, 0x65, 0x72, 0x73, 0x69, 0x6F, 0x6E, 0x01])
        #expect(try CARHeader(decoding: header).roots == [cid])
    }
}
