import Foundation
import KilnTesting
import Testing

struct ContentCLITests {
    @Test func cidAddExportListVerify() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(
            at: folder.appendingPathComponent("site/sub"),
            withIntermediateDirectories: true
        )
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("hello world\n".utf8).write(to: folder.appendingPathComponent("site/hello.txt"))
        try Data(repeating: 7, count: 300_000).write(to: folder.appendingPathComponent("site/sub/big.bin"))

        let file = try await KilnProcess.run(["cid", "site/hello.txt"], in: folder)
        #expect(file.stdout == "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4\n")
        #expect(
            try await KilnProcess.run(["cid", "site/hello.txt", "--profile", "kubo-v0"], in: folder).stdout
                == "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o\n"
        )
        let hashed = try await KilnProcess.run(["cid", "site"], in: folder).stdout
        #expect(
            !FileManager.default.fileExists(atPath: folder.appendingPathComponent("kiln-data").path),
            "cid stores nothing"
        )

        let added = try await KilnProcess.run(["add", "site"], in: folder)
        #expect(added.status == 0 && added.stdout == hashed, "add prints the same CID as cid")
        let root = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let exported = try await KilnProcess.run(["export", "car", root, "-o", "site.car"], in: folder)
        #expect(exported.status == 0, "\(exported.stderr)")
        #expect(exported.stdout == "site.car: 6 blocks, roots \(root)\n")

        let listed = try await KilnProcess.run(["car", "ls", "site.car"], in: folder)
        let lines = listed.stdout.split(separator: "\n")
        #expect(lines.first == "root \(root)")
        #expect(lines.count == 7)
        #expect(lines[1].contains("\t\(root)\tdag-pb\t"))
        #expect(
            try await KilnProcess.run(["car", "verify", "site.car"], in: folder).stdout.hasPrefix(
                "site.car: OK, 6 blocks ("
            )
        )

        // Damage one byte near the end: verify fails, says where, and exits 1.
        var bytes = Array(try Data(contentsOf: folder.appendingPathComponent("site.car")))
        bytes[bytes.count - 3] ^= 0xFF
        try Data(bytes).write(to: folder.appendingPathComponent("bad.car"))
        let bad = try await KilnProcess.run(["car", "verify", "bad.car"], in: folder)
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("Error: Unable to read CAR 'bad.car' at byte "))
        #expect(bad.stderr.contains("block does not match its CID"))
    }

    @Test func clearErrorsForBadInput() async throws {
        let unknown = try await KilnProcess.run(["cid", "/etc/hostname", "--profile", "kubo-v9"])
        #expect(unknown.status == 64)
        // --profile takes a fixed set of values: argument-parser names them (and completions offer them).
        #expect(
            unknown.stderr.contains("The value 'kubo-v9' is invalid for '--profile <profile>'"),
            "\(unknown.stderr)"
        )
        #expect(
            unknown.stderr.contains("kubo-v1") && unknown.stderr.contains("unixfs-v1-2025")
                && unknown.stderr.contains("kubo-v0")
        )
        let missing = try await KilnProcess.run(["cid", "/nonexistent"])
        #expect(
            missing.status == 1
                && missing.stderr.contains("Error: Unable to read '/nonexistent': No such file or directory")
        )
        let badRoot = try await KilnProcess.run(["export", "car", "bafyNOPE", "-o", "x.car"])
        #expect(badRoot.status == 64 && badRoot.stderr.contains("Unable to parse CID 'bafyNOPE'"))
        let notStored = try await KilnProcess.run(
            [
                "export", "car", "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4", "-o", "/tmp/kiln-x.car",
                "--blocks", "/tmp/kiln-empty-\(UUID().uuidString)",
            ])
        #expect(notStored.status == 1 && notStored.stderr.contains("is not in the blockstore"))
        #expect(!FileManager.default.fileExists(atPath: "/tmp/kiln-x.car"), "no half-written CAR")
    }
}
