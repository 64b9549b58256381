import Foundation
import KilnContent
import KilnStore
import KilnTesting
import Testing

/// `kiln batch` with its store and output on a size-limited tmpfs that fills up mid-batch (the tests run as root,
/// as CI does: `mount -t tmpfs -o size=…`).
@Suite(.serialized) struct FullDiskTests {
    /// Three disks, each too small at a different stage of the batch (30, 60 and 90 % of what it needs): the run
    /// fails with an error that says the disk is full and where, exits non-zero, leaves no block that does not
    /// match its CID and a store that passes `PRAGMA integrity_check`; once the disk is grown, the next run
    /// completes with the same bytes as a run that never failed.
    @Test func aFullDiskIsAClearErrorAndTheNextRunFinishesWithTheSameBytes() async throws {
        let bench = try await BatchBench()
        let events = try await BatchBench.exampleLogs("events-1.jsonl", tokens: [1, 2])
        let reference = try await bench.site("reference", events: events)
        let clean = try await reference.kiln()
        #expect(clean.status == 0, "\(clean.transcript)")
        let expected = try await reference.outputs()
        let needed =
            try Self.bytes(under: reference.dir.appendingPathComponent("out"))
            + Self.bytes(under: reference.dir.appendingPathComponent("data"))

        for percent in [30, 60, 90] {
            let site = try await bench.site("full-\(percent)", events: events)
            let disk = site.dir.appendingPathComponent("disk")
            try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
            let size = max(needed * percent / 100, 16 << 10)
            try await Self.run("/usr/bin/mount", ["-t", "tmpfs", "-o", "size=\(size)", "tmpfs", disk.path])
            // Detached at the end (what `umount -l` does), by the system call: no child process to wait for on
            // the cooperative pool in a `defer`.
            defer { _ = umount2(disk.path, Int32(MNT_DETACH)) }
            for name in ["data", "out"] {
                try FileManager.default.createDirectory(
                    at: disk.appendingPathComponent(name),
                    withIntermediateDirectories: true
                )
                try FileManager.default.createSymbolicLink(
                    at: site.dir.appendingPathComponent(name),
                    withDestinationURL: disk.appendingPathComponent(name)
                )
            }
            let context = "a disk of \(size) bytes (\(percent) % of \(needed))"

            let full = try await site.kiln()
            #expect(full.status != 0, "\(context): \(full.transcript)")
            let said = full.result.stdout + full.result.stderr
            #expect(
                said.contains("No space left on device") || said.contains("is full"),
                "\(context): \(full.transcript)"
            )
            #expect(
                said.contains("out/") || said.contains("data/") || said.contains(disk.path),
                "\(context): the error names the path: \(full.transcript)"
            )
            // Nothing half-written: every block is whole, the store is consistent.
            for (name, bytes) in try await site.outputs() where name.hasPrefix("blocks/") {
                let cid = try CID(String(name.dropFirst("blocks/".count)))
                #expect(CID.of(Array(bytes), codec: cid.codec) == cid, "\(context): \(name) does not match its CID")
            }
            if FileManager.default.fileExists(atPath: site.store) {
                #expect(try await RandomKillTests.integrityCheck(site.store) == "ok", "\(context)")
            }

            try await Self.run("/usr/bin/mount", ["-o", "remount,size=\(needed * 4)", disk.path])
            let again = try await site.kiln()
            #expect(again.status == 0, "\(context), grown: \(again.transcript)")
            let outputs = try await site.outputs()
            #expect(outputs.keys.sorted() == expected.keys.sorted(), "\(context): the same files")
            for (name, bytes) in expected where outputs[name] != bytes {
                Issue.record("\(context): \(name) differs from the run that never failed")
            }
            let leftovers = try FileManager.default.subpathsOfDirectory(atPath: disk.path).filter {
                $0.contains(".tmp")
            }
            #expect(leftovers.isEmpty, "\(context): temporary files left: \(leftovers)")
            let published = try await SQLiteStore(path: site.store).publications(batch: nil)
            #expect(
                published.count == 2 && Set(published.map(\.jobId)).count == 2,
                "\(context): \(full.transcript)\n\(again.transcript)"
            )
            print(
                "full disk: \(context): \(said.split(separator: "\n").first { $0.contains("space") || $0.contains("full") } ?? "")"
            )
        }
    }

    /// The bytes of the regular files under `folder`.
    static func bytes(under folder: URL) throws -> Int {
        try FileManager.default.subpathsOfDirectory(atPath: folder.path).reduce(0) { total, path in
            let attributes = try FileManager.default.attributesOfItem(atPath: folder.appendingPathComponent(path).path)
            return total
                + ((attributes[.type] as? FileAttributeType) == .typeRegular ? (attributes[.size] as? Int ?? 0) : 0)
        }
    }

    static func run(_ program: String, _ arguments: [String]) async throws {
        let result = try await KilnProcess.run(arguments, program: URL(fileURLWithPath: program))
        try #require(result.status == 0, "\(program) \(arguments.joined(separator: " ")): \(result.stderr)")
    }
}
