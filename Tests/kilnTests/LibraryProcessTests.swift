// Kiln — Apache-2.0. See LICENSE.

import Foundation
import KilnContent
import KilnCore
import KilnImage
import KilnTesting
import Testing

/// What only the `kiln` process shows: its memory bound under `ulimit`, and that two runs of it write the bytes the
/// libraries write. The libraries themselves are tested in process (KilnContentTests, KilnImageTests).
struct LibraryProcessTests {
    @Test func aGibibyteImportsInBoundedMemory() async throws {
        let folder = try temporaryFolder("content")
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("sparse-1g").path
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        #expect(truncate(path, 1 << 30) == 0)
        // 200 MB of address space in all: reading the file whole would need five times that.
        let run = try await KilnProcess.run(
            ["-c", "ulimit -v 200000 && exec \"$0\" cid \"$1\"", KilnProcess.executable.path, path],
            program: URL(fileURLWithPath: "/bin/bash")
        )
        #expect(run.status == 0, "\(run.stderr)")
        // The expected root, built by hand from the balanced layout's shape: 4096 identical zero leaves →
        // 23 full nodes of 174 leaves and one of 94 → a root of 24 links.
        let chunk = UInt64(262_144)
        let leaf = CID.of([UInt8](repeating: 0, count: Int(chunk)), codec: CID.raw)
        func node(_ children: [(CID, UInt64, UInt64)]) -> (CID, UInt64, UInt64) {
            let size = children.reduce(0) { $0 + $1.2 }
            let block = DagPBNode(
                links: children.map { DagPBLink(cid: $0.0, name: "", tsize: $0.1) },
                data: UnixFSData(kind: .file, fileSize: size, blockSizes: children.map(\.2)).bytes
            ).bytes
            return (CID.of(block, codec: CID.dagPB), UInt64(block.count) + children.reduce(0) { $0 + $1.1 }, size)
        }
        let full = node(Array(repeating: (leaf, chunk, chunk), count: 174))
        let last = node(Array(repeating: (leaf, chunk, chunk), count: 4096 - 23 * 174))
        let root = node(Array(repeating: full, count: 23) + [last])
        #expect(root.2 == 1 << 30)
        #expect(run.stdout == "\(root.0)\n")
    }

    @Test func twoProcessesWriteTheBytesTheLibraryWrites() async throws {
        let folder = try temporaryFolder("image")
        defer { try? FileManager.default.removeItem(at: folder) }
        let source = PythonBench.packageRoot.appendingPathComponent("templates/forge-knights/assets/frame.png").path
        let decoded = try ImageFile.read(source).rgbaImage
        for name in ["a.png", "b.png"] {
            let result = try await KilnProcess.run(["image", "convert", source, "-o", name], in: folder)
            #expect(result.status == 0, "\(result.stderr)")
        }
        let a = Array(try Data(contentsOf: folder.appendingPathComponent("a.png")))
        let b = Array(try Data(contentsOf: folder.appendingPathComponent("b.png")))
        #expect(a == b)
        #expect(a == (try PNGEncoder().encode(decoded)), "the CLI writes what the library writes")
        let thumb = try await KilnProcess.run(
            ["image", "convert", source, "-o", "t.jpg", "--thumbnail", "64"],
            in: folder
        )
        #expect(thumb.status == 0)
        #expect(try await KilnProcess.run(["image", "info", "t.jpg"], in: folder).stdout.hasPrefix("JPEG 64×"))
    }
}
