import Foundation
import KilnContent
import KilnCore
import KilnImage
import KilnPipeline
import KilnStore
import KilnTesting
import Testing

struct FileEventSourceTests {
    static func line(block: UInt64, index: UInt64) -> String {
        let log = EventLog(
            address: try! Address(hex: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"),
            topics: [Bytes32(word: block)],
            data: [],
            blockNumber: block,
            blockHash: Bytes32(word: block * 100),
            transactionHash: Bytes32(word: 1),
            logIndex: index
        )
        return try! log.json.canonicalString()
    }

    @Test func readsBatchesInChainOrder() async throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("events.jsonl").path
        let text = [
            "# recorded logs", Self.line(block: 3, index: 0), "", Self.line(block: 1, index: 1),
            Self.line(block: 1, index: 0), Self.line(block: 7, index: 0),
        ]
        try Data(text.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
        let source = try FileEventSource(path: path)
        let first = try #require(try await source.nextBatch(after: nil, limit: 3))
        #expect(first.logs.map { [$0.blockNumber!, $0.logIndex!] } == [[1, 0], [1, 1], [3, 0]])
        #expect(first.through.block == 3 && first.through.hash == Bytes32(word: 300))
        let second = try #require(try await source.nextBatch(after: 3, limit: 3))
        #expect(second.logs.map(\.blockNumber) == [7])
        #expect(try await source.nextBatch(after: 7, limit: 3) == nil)
    }

    /// A recorded file grows by appending: the next read parses only what follows the mark, unless the file
    /// changed before it.
    @Test func resumesAfterItsMarkUnlessTheFileChangedBeforeIt() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let url = folder.appendingPathComponent("events.jsonl")
        let head = [Self.line(block: 1, index: 0), "# a comment", Self.line(block: 2, index: 0)].joined(separator: "\n")
        // The last line has no newline yet (still being written): it is read, but the mark stops before it.
        try Data((head + "\n" + Self.line(block: 3, index: 0)).utf8).write(to: url)
        let first = try FileEventSource(path: url.path)
        #expect(first.logs.map(\.blockNumber) == [1, 2, 3] && !first.resumed)
        #expect(first.readThrough.offset == Int64(head.utf8.count + 1) && first.readThrough.lines == 3)

        // Appended: only the unfinished line and the new ones are parsed; a bad new line is numbered in the file.
        try Data(
            (head + "\n" + Self.line(block: 3, index: 0) + "\n" + Self.line(block: 4, index: 0) + "\nnot json\n").utf8
        )
        .write(to: url)
        let second = try FileEventSource(path: url.path, skippingMalformed: true, after: first.readThrough)
        #expect(second.resumed && second.logs.map(\.blockNumber) == [3, 4])
        #expect(second.problems.count == 1 && second.problems[0].subject == "\(url.path):6", "\(second.problems)")
        #expect(
            second.problems.first?.kind == .input
                && second.problems.first?.description.hasPrefix("\(url.path):6: ") == true
        )
        let third = try FileEventSource(path: url.path, after: second.readThrough.offset > 0 ? second.readThrough : nil)
        #expect(third.logs.isEmpty && third.resumed, "nothing new: nothing parsed")

        // Changed before the mark (a line edited): everything is read again.
        try Data((Self.line(block: 9, index: 0) + "\n" + Self.line(block: 10, index: 0) + "\n").utf8).write(to: url)
        let reread = try FileEventSource(path: url.path, after: second.readThrough)
        #expect(!reread.resumed && reread.logs.map(\.blockNumber) == [9, 10])
        // Shorter than the mark (truncated): read again too.
        try Data(Self.line(block: 11, index: 0).utf8).write(to: url)
        let truncated = try FileEventSource(path: url.path, after: second.readThrough)
        #expect(!truncated.resumed && truncated.logs.map(\.blockNumber) == [11])
    }

    @Test func aBadLineSaysWhere() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("bad.jsonl").path
        try Data((Self.line(block: 1, index: 0) + "\n{\"address\": 1}\n").utf8).write(to: URL(fileURLWithPath: path))
        #expect { try FileEventSource(path: path) } throws: {
            ($0 as! PipelineError).message == "\(path):2: Unable to read log.address: expected a hex string"
        }
        #expect { try FileEventSource(path: "/nonexistent") } throws: {
            ($0 as! PipelineError).message == "Unable to read events file '/nonexistent'"
        }
    }
}

struct PublisherTests {
    static let raster: Raster = try! Raster(
        width: 300,
        height: 200,
        gradient: try! LinearGradient(
            start: (0, 0),
            end: (300, 200),
            stops: [.init(offset: 0, color: .black), .init(offset: 1, color: try! Color(hex: "#ff8800"))]
        )
    )

    @Test func publishesAUnixFSDirectoryThatKuboWouldAddTheSame() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try FilesystemBlockstore(folder: folder.appendingPathComponent("blocks").path)
        let png = try PNGEncoder().encode(Self.raster.rgbaImage)
        let publisher = Publisher(blockstore: store)
        let published = try publisher.publish(png: png, raster: Self.raster) { image in
            ["name": "Token #1", "image": .string("ipfs://\(image)")]
        }
        // The same again: the same CIDs (content addressing), nothing new.
        let again = try publisher.publish(png: png, raster: Self.raster) { image in
            ["name": "Token #1", "image": .string("ipfs://\(image)")]
        }
        #expect(again == published)
        // The directory has the three files, and is the CID `ipfs add -r` gives the same three files on disk.
        let node = try DagPBNode(decoding: try store.get(published.directory))
        #expect(node.links.map(\.name) == ["image.png", "metadata.json", "thumb.jpg"])
        let onDisk = folder.appendingPathComponent("token")
        try FileManager.default.createDirectory(at: onDisk, withIntermediateDirectories: true)
        let importer = Importer(profile: .kuboV1)
        for (name, cid) in [
            ("image.png", published.image), ("thumb.jpg", published.thumbnail), ("metadata.json", published.metadata),
        ] {
            #expect(node.links.contains { $0.name == name && $0.cid == cid })
            #expect(cid.codec == CID.raw, "each file is one chunk here")
            try Data(try store.get(cid)).write(to: onDisk.appendingPathComponent(name))
        }
        #expect(try importer.add(path: onDisk.path).cid == published.directory)
        // The metadata names the image by CID; the thumbnail is a JPEG of at most 256 pixels a side.
        let metadata = try JSONValue.parse(bytes: try store.get(published.metadata))
        #expect(metadata["image"]?.stringValue == "ipfs://\(published.image)")
        let thumb = try JPEGDecoder().decode(try store.get(published.thumbnail))
        #expect(thumb.width == 256 && thumb.height == 171)
        // And the whole directory exports to a CAR that verifies.
        let car = folder.appendingPathComponent("token.car").path
        try CARWriter.write(roots: [published.directory], from: store, to: car)
        #expect(try CARReader.verify(path: car).blocks == 4)
    }

    @Test func manifestKeepsHistoryAndIsWrittenAtomically() throws {
        let folder = try temporaryFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let a = TokenDirectory(
            directory: CID.of([1], codec: CID.dagPB),
            image: CID.of([2], codec: CID.raw),
            thumbnail: CID.of([3], codec: CID.raw),
            metadata: CID.of([4], codec: CID.raw)
        )
        var b = a
        b.metadata = CID.of([5], codec: CID.raw)
        var manifest = Manifest(profile: "kubo-v1")
        let added = manifest.update(token: "1:0xabc#7", with: a)
        let repeated = manifest.update(token: "1:0xabc#7", with: a)
        let replaced = manifest.update(token: "1:0xabc#7", with: b)
        #expect(added && !repeated && replaced, "the same publication again changes nothing")
        #expect(manifest.entries["1:0xabc#7"]?.history == [a.metadata])
        let path = folder.appendingPathComponent("manifest.json").path
        try manifest.write(to: path)
        #expect(
            try Manifest(json: try JSONValue.parse(bytes: Array(try Data(contentsOf: URL(fileURLWithPath: path)))))
                == manifest
        )
        #expect(
            try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["manifest.json"],
            "no temporary file left"
        )
    }
}

struct ContactSheetTests {
    /// The batch reads only the thumbnails the sheet shows and passes how many tokens there are: the footer counts
    /// the rest, and the cells are the same as with every thumbnail given.
    @Test func theFooterCountsTokensWhoseThumbnailsWereNotRead() throws {
        let thumbnail = try PNGEncoder().encode(
            try RGBAImage(width: 4, height: 4, pixels: [UInt8](repeating: 200, count: 64))
        )
        let items = (0..<3).map { (label: "#\($0)", thumbnail: thumbnail) }
        let alone = try ContactSheet.render(items)
        let counted = try ContactSheet.render(items, total: 5)
        #expect(counted.height > alone.height, "a footer for the 2 tokens not shown")
        #expect(counted.width == alone.width)
        #expect(Array(counted.pixels.prefix(alone.pixels.count)) == alone.pixels, "the same cells above the footer")
    }

    /// The sheet is drawn and encoded a row of cells at a time: the file is that of the whole picture, encoded.
    @Test func theSheetInStripsIsTheWholeSheetsFile() throws {
        var items: [(label: String, thumbnail: [UInt8])] = []
        for index in 0..<23 {
            let pixels = (0..<(40 * 30 * 4)).map { UInt8(truncatingIfNeeded: $0 &* (index + 3) &+ $0 / 97) }
            var image = try RGBAImage(width: 40, height: 30, pixels: pixels)
            if index % 4 == 0 {  // some thumbnails with transparency
                for pixel in stride(from: 3, to: image.pixels.count, by: 8) { image.pixels[pixel] = 90 }
            }
            items.append((label: "#\(index * 37)", thumbnail: try PNGEncoder().encode(image)))
        }
        for total in [23, 4_000] {
            let whole = try PNGEncoder().encode(try ContactSheet.render(items, total: total).rgbaImage)
            #expect(try ContactSheet.encode(items, total: total) == whole, "total \(total)")
            // Written to a file as it is encoded, each thumbnail read as its row is drawn: the same file.
            let path = try temporaryFolder("sheet").appendingPathComponent("sheet.png").path
            let writer = try AtomicFile.Writer(path: path)
            var read: [Int] = []
            try ContactSheet.write(
                shown: items.count,
                total: total,
                item: { index in
                    read.append(index)
                    return items[index]
                },
                to: writer
            )
            try writer.commit()
            #expect(try FileBytes.read(path, limit: 1 << 24) == whole, "total \(total), written as it goes")
            #expect(read == Array(items.indices), "each thumbnail read once, in order")
        }
    }
}
