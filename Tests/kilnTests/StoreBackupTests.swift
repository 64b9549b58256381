import Foundation
import KilnCore
import KilnTesting
import Testing

/// `kiln store backup | restore | check` on SQLite, as an operator uses them.
struct StoreBackupTests {
    /// A backup taken while a batch runs, restored, finishes that batch with the same bytes as the run that was
    /// not interrupted: the backup is one consistent moment of the store.
    @Test func aBackupTakenMidBatchRestoresAndFinishesWithTheSameBytes() async throws {
        let folder = try temporaryFolder("backup")
        let ports = try (0..<3).map { _ in try freeLoopbackPort() }
        let made = try await KilnProcess.run(
            ["init", "site", "--node-ports", ports.map(String.init).joined(separator: ",")],
            in: folder
        )
        #expect(made.status == 0, "\(made.stderr)")
        // Nodes that take a second per answer, and one job at a time: the batch lasts several seconds.
        var nodes: [ServiceProcess] = []
        for (index, port) in ports.enumerated() {
            nodes.append(
                try await ServiceProcess.start(
                    KilnProcess.executable,
                    [
                        "node", "serve", "--key", "site/keys/operator-\(index + 1).key", "--port", "\(port)",
                        "--test-fault", "slow", "--slow-seconds", "1",
                    ],
                    name: "node",
                    directory: folder,
                    accept: { $0.hasPrefix("listening on ") }
                )
            )
        }
        defer { nodes.forEach { $0.stop() } }
        let config = ["--config", "site/kiln.yml"]
        let environment = ["KILN_NODE_TIMEOUT": "120"]
        let running = Task {
            try await KilnProcess.run(["batch", "--concurrency", "1"] + config, in: folder, environment: environment)
        }
        // Once two tokens are published (and six are not), back up.
        var published = 0
        for _ in 0..<600 where published < 2 {
            try await Task.sleep(for: .milliseconds(100))
            let status = try await KilnProcess.run(["status", "--log-format", "json"] + config, in: folder)
            published =
                (try? JSONValue.parse(bytes: Array(status.stdout.utf8)))?["publications"]?.integerValue
                .map { Int($0) } ?? 0
        }
        let backup = try await KilnProcess.run(["store", "backup", "mid.sqlite"] + config, in: folder)
        #expect(backup.status == 0, "\(backup.stderr)")
        let first = try await running.value
        #expect(first.status == 0 && first.stdout.contains("\"published\":8"), "\(first.stdout)\(first.stderr)")
        let out = folder.appendingPathComponent("site/kiln-data/out")
        let car = try Data(contentsOf: out.appendingPathComponent("batch-1.car"))
        let sheet = try Data(contentsOf: out.appendingPathComponent("batch-1-sheet.png"))

        let check = try await KilnProcess.run(["store", "check", "mid.sqlite"], in: folder)
        #expect(check.status == 0 && check.stdout.contains(": OK — 1 batch(es), 8 job(s)"), "\(check.stdout)")
        let mid = check.stdout.split(separator: " ").firstIndex(of: "publication(s),").map {
            Int(check.stdout.split(separator: " ")[$0 - 1]) ?? -1
        }
        #expect(mid.map { $0 >= 2 && $0 < 8 } == true, "the backup is of the middle of the batch: \(check.stdout)")

        // Restore it and run again: the open batch is finished, its files byte-identical.
        for name in ["batch-1.car", "batch-1-sheet.png", "manifest.json"] {
            try FileManager.default.removeItem(at: out.appendingPathComponent(name))
        }
        let restore = try await KilnProcess.run(["store", "restore", "mid.sqlite"] + config, in: folder)
        #expect(restore.status == 0, "\(restore.stderr)")
        let second = try await KilnProcess.run(["batch"] + config, in: folder, environment: environment)
        #expect(second.status == 0, "\(second.stdout)\(second.stderr)")
        #expect(try Data(contentsOf: out.appendingPathComponent("batch-1.car")) == car)
        #expect(try Data(contentsOf: out.appendingPathComponent("batch-1-sheet.png")) == sheet)
    }

    @Test func aFileThatIsNotASoundStoreIsNamedAndNothingIsRestored() async throws {
        let folder = try temporaryFolder("backup-bad")
        let made = try await KilnProcess.run(["init", "site"], in: folder)
        #expect(made.status == 0)
        let config = ["--config", "site/kiln.yml"]
        let good = try await KilnProcess.run(["store", "backup", "good.sqlite"] + config, in: folder)
        #expect(good.status == 0, "\(good.stderr)")
        let again = try await KilnProcess.run(["store", "backup", "good.sqlite"] + config, in: folder)
        #expect(again.status == 1 && again.stderr.contains("'good.sqlite' exists"))
        try Data("not a database at all".utf8).write(to: folder.appendingPathComponent("junk.sqlite"))
        let junk = try await KilnProcess.run(["store", "check", "junk.sqlite"], in: folder)
        #expect(junk.status == 1 && junk.stderr.contains("as a SQLite store"), "\(junk.stderr)")
        let refused = try await KilnProcess.run(["store", "restore", "junk.sqlite"] + config, in: folder)
        #expect(refused.status == 1, "\(refused.stderr)")
        let still = try await KilnProcess.run(["store", "check"] + config, in: folder)
        #expect(still.status == 0 && still.stdout.contains(": OK"), "\(still.stdout)\(still.stderr)")
    }
}
