import BigInt
import Foundation
import KilnContent
import KilnCore
import KilnStore
import KilnTesting
import Testing

/// `kiln batch` end to end: real node processes, a real SQLite store, recorded chain logs, files compared byte
/// for byte. Each test runs the `kiln` executable the way cron would.
@Suite(.serialized) struct BatchCLITests {
    static let published = "published"

    @Test func publishesThenDoesNothingThenOnlyWhatChangedAndVerifies() async throws {
        let bench = try await BatchBench()
        let firstLogs = try await BatchBench.exampleLogs("events-1.jsonl", tokens: [1, 2, 3])
        let site = try await bench.site("site", events: firstLogs)

        let first = try await site.kiln()
        #expect(first.status == 0, "\(first.transcript)")
        #expect(first.summary?["batch"] as? Int == 1 && first.summary?["published"] as? Int == 3)
        #expect(
            first.status(1) == Self.published && first.status(2) == Self.published && first.status(3) == Self.published
        )
        // The dishonest 30 % operator is refused; the round widens to the 20 and 10 and 70 % makes quorum.
        let quorum = first.jobs.first?["quorum"] as? String ?? ""
        #expect(quorum.hasPrefix("3/4 operators, 70.0 % of stake") && quorum.contains("rejected"), "\(quorum)")
        let afterFirst = try await site.outputs()
        for name in ["batch-1.car", "batch-1-sheet.png", "manifest.json"] {
            #expect(afterFirst[name] != nil, "\(name) written")
        }

        // Nothing new on chain: nothing to do, nothing rewritten.
        let idle = try await site.kiln()
        #expect(idle.status == 0, "\(idle.transcript)")
        #expect(idle.summary?["batch"] is NSNull && idle.jobs.isEmpty)
        #expect(try await site.outputs() == afterFirst)

        // Token 2 levels up: only token 2 is redone, in batch 2; batch 1's files stay as they were.
        try await site.append("events.jsonl", try BatchBench.exampleLogs("events-2.jsonl", tokens: [2]))
        let second = try await site.kiln()
        #expect(second.status == 0, "\(second.transcript)")
        #expect(second.summary?["batch"] as? Int == 2)
        #expect(second.statuses == ["\(BatchBench.contractA)#2": Self.published])
        let afterSecond = try await site.outputs()
        #expect(afterSecond["batch-1.car"] == afterFirst["batch-1.car"] && afterSecond["batch-2.car"] != nil)

        // Another machine, with only the CAR file and the chain's logs, re-derives the token byte for byte.
        let metadata = String((second.jobs.first?["metadata"] as? String ?? "").dropFirst("ipfs://".count))
        let car = site.out.appendingPathComponent("batch-2.car").path
        let events = site.dir.appendingPathComponent("events.jsonl").path
        let verified = try await KilnProcess.run(
            ["verify", metadata, "--car", car, "--events", events],
            in: bench.folder
        )
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.hasSuffix("verified: byte-identical\n"))

        // With logs that stop before the level-up, the published state is not what the chain says.
        try await site.write("stale.jsonl", firstLogs.joined(separator: "\n") + "\n")
        let stale = try await KilnProcess.run(
            ["verify", metadata, "--car", car, "--events", site.dir.appendingPathComponent("stale.jsonl").path],
            in: bench.folder
        )
        #expect(stale.status == 1, "\(stale.stdout)\(stale.stderr)")
        #expect(
            stale.stdout.contains("DIFF  state differs from the chain's logs: level: chain ")
                && stale.stdout.hasSuffix("difference(s)\n")
        )

        // By token, from the site's own store and blocks; and against a registry whose stake table differs.
        let byToken = try await KilnProcess.run(
            ["verify", "--config", "kiln.yml", "\(BatchBench.contractA):2"],
            in: site.dir
        )
        #expect(
            byToken.status == 0 && byToken.stdout.hasSuffix("verified: byte-identical\n"),
            "\(byToken.stdout)\(byToken.stderr)"
        )
        let operators = try String(contentsOf: bench.folder.appendingPathComponent("operators.yml"), encoding: .utf8)
        try await site.write(
            "reweighted.yml",
            operators.replacingOccurrences(of: "stake: \"10000", with: "stake: \"50000")
        )
        let reweighted = try await KilnProcess.run(
            ["verify", "--config", "kiln.yml", "\(BatchBench.contractA):2", "--operators", "reweighted.yml"],
            in: site.dir
        )
        #expect(
            reweighted.status == 1 && reweighted.stdout.contains("DIFF  stake: the bundle's stake table differs"),
            "\(reweighted.stdout)"
        )

        // A forged metadata.json (another name, token 1's picture) added next to the real blocks: every
        // difference is named.
        let blocks = site.out.appendingPathComponent("blocks").path
        let realMetadata = Data(try FilesystemBlockstore(folder: blocks).get(try CID(metadata)))
        let imageOne = try #require(
            first.jobs.first { ($0["token"] as? String)?.hasSuffix("#1") == true }?["image"] as? String
        )
        var forged = try #require(try JSONSerialization.jsonObject(with: realMetadata) as? [String: Any])
        forged["name"] = "Forged Knight"
        forged["image"] = imageOne
        try JSONSerialization.data(withJSONObject: forged, options: [.sortedKeys]).write(
            to: site.dir.appendingPathComponent("forged.json")
        )
        let added = try await KilnProcess.run(["add", "forged.json", "--blocks", blocks], in: site.dir)
        #expect(added.status == 0, "\(added.stderr)")
        let forgedCID = added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let caught = try await KilnProcess.run(["verify", forgedCID, "--blocks", blocks], in: bench.folder)
        #expect(caught.status == 1, "\(caught.stdout)\(caught.stderr)")
        #expect(caught.stdout.contains("DIFF  pixels: "), "\(caught.stdout)")
        #expect(caught.stdout.contains("name"), "\(caught.stdout)")

        // regen: a new round for token 3 gives the same bytes (deterministic nodes); --reuse-attested too.
        let published3 = try #require(
            first.jobs.first { ($0["token"] as? String)?.hasSuffix("#3") == true }?["metadata"] as? String
        )
        for flags in [[], ["--reuse-attested"]] {
            let regen = try await KilnProcess.run(
                ["regen", BatchBench.contractA, "3", "--config", "kiln.yml", "--log-format", "json"] + flags,
                in: site.dir
            )
            #expect(regen.status == 0, "\(regen.stdout)\(regen.stderr)")
            #expect(regen.stdout.contains("metadata \(published3) "), "\(flags): \(regen.stdout)")
        }
        let unknown = try await KilnProcess.run(
            ["regen", BatchBench.contractA, "99", "--config", "kiln.yml"],
            in: site.dir
        )
        #expect(unknown.status == 1 && unknown.stderr.contains("#99 has no state"), "\(unknown.stderr)")
    }

    /// The README's first command, end to end (run once for every test that needs its output: ``DemoOutput``).
    @Test func demoRunsTwoBatchesAndPrintsTheTable() async throws {
        let stdout = try await DemoOutput.shared.stdout()
        let folder = try await DemoOutput.shared.copy()
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(stdout.contains("== batch 1: events-1.jsonl") && stdout.contains("== batch 2: events-2.jsonl"))
        #expect(stdout.contains("batch 1: 24 published") && stdout.contains("batch 2: 6 published"), "\(stdout)")
        #expect(stdout.contains("the dishonest operator's answers were refused every time"))
        let rows = stdout.split(separator: "\n").filter { $0.hasPrefix("#") }
        #expect(rows.count == 26, "one table row per token: \(rows.count)")
        for name in ["out/batch-1.car", "out/batch-2.car", "out/batch-1-sheet.png", "out/manifest.json"] {
            let path = folder.appendingPathComponent("kiln-demo/" + name).path
            #expect(FileManager.default.fileExists(atPath: path), "\(name)")
        }
        // The verify command it prints works as printed (with the kiln binary, from the folder it ran in).
        let line = try #require(stdout.split(separator: "\n").first { $0.contains("./kiln verify bafk") })
        let arguments = line.split(separator: " ").dropFirst(1).map(String.init)
        let verified = try await KilnProcess.run(arguments, in: folder)
        #expect(
            verified.status == 0 && verified.stdout.hasSuffix("verified: byte-identical\n"),
            "\(verified.stdout)\(verified.stderr)"
        )
        // Another folder is refused (a demo folder is replaced: its marker file says it is one).
        let other = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-not-demo-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: other, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: other) }
        try Data("keep".utf8).write(to: other.appendingPathComponent("mine.txt"))
        let refused = try await KilnProcess.run(["demo", "--dir", other.path])
        #expect(refused.status == 1 && refused.stderr.contains("is not a Kiln demo folder"))
        #expect(FileManager.default.fileExists(atPath: other.appendingPathComponent("mine.txt").path))
    }

    /// A run killed at any step leaves nothing half-written; the next run finishes the batch, and every file is
    /// byte-identical to an uninterrupted run's.
    @Test func aRunKilledAtAnyStepIsFinishedByTheNextOne() async throws {
        let bench = try await BatchBench()
        let logs = try await BatchBench.exampleLogs("events-1.jsonl", tokens: [1, 2])
        let reference = try await bench.site("reference", events: logs)
        let clean = try await reference.kiln()
        #expect(clean.status == 0, "\(clean.transcript)")
        let expected = try await reference.outputs()
        #expect(expected.count > 5)

        let points = [
            "after-sync", "after-batch-opened", "after-lease", "after-inference:2", "after-blocks", "after-job:2",
            "before-car",
            "after-car", "after-sheet", "after-manifest",
        ]
        for point in points {
            let site = try await bench.site("crash-\(point.replacingOccurrences(of: ":", with: "-"))", events: logs)
            let crashed = try await site.kiln(environment: ["KILN_TEST_FAULT_CRASH": point])
            #expect(crashed.result.signaled, "\(point): the run should have been killed\n\(crashed.transcript)")
            let resumed = try await site.kiln()
            #expect(resumed.status == 0, "\(point): \(resumed.transcript)")
            #expect(
                resumed.summary?["batch"] as? Int == 1,
                "\(point): the interrupted batch is finished, not a new one"
            )
            let outputs = try await site.outputs()
            #expect(outputs.keys.sorted() == expected.keys.sorted(), "\(point): the same files")
            for (name, bytes) in expected where outputs[name] != bytes {
                Issue.record("\(point): \(name) differs from the uninterrupted run's")
            }
            let leftovers = try FileManager.default.subpathsOfDirectory(atPath: site.dir.path).filter {
                $0.contains(".tmp")
            }
            #expect(leftovers.isEmpty, "\(point): temporary files left: \(leftovers)")

            let store = try SQLiteStore(path: site.store)
            let publications = try await store.publications(batch: nil)
            #expect(
                publications.count == 2 && Set(publications.map(\.jobId)).count == 2,
                "\(point): one publication per job"
            )
            let done = try await store.jobs(status: .done)
            #expect(
                done.count == 2 && done.allSatisfy { (1...2).contains($0.attempts) },
                "\(point): \(done.map(\.attempts))"
            )
        }
    }

    @Test func twoRunsAtOnceNeverDoTheSameJob() async throws {
        let bench = try await BatchBench()
        let site = try await bench.site(
            "site",
            events: try BatchBench.exampleLogs("events-1.jsonl", tokens: [1, 2, 3, 4])
        )
        async let one = site.kilnInBackground(["--wait", "--concurrency", "2"])
        async let two = site.kilnInBackground(["--wait", "--concurrency", "2"])
        let runs = try await [one, two]
        for run in runs { #expect(run.status == 0, "\(run.transcript)") }
        let publishedJobs = runs.flatMap(\.jobs).filter { $0["status"] as? String == Self.published }
        #expect(publishedJobs.count == 4, "each token published once in all: \(runs.map(\.transcript))")
        let store = try SQLiteStore(path: site.store)
        await #expect(try store.publications(batch: nil).map(\.batch) == [1, 1, 1, 1])
        await #expect(try store.jobs(status: .done).map(\.attempts) == [1, 1, 1, 1])

        // Without --wait, a run while another holds the store's lock says so and exits 0 without touching anything.
        let lock = open(site.store + ".lock", O_RDWR)
        defer { close(lock) }
        #expect(lock >= 0 && flock(lock, LOCK_EX | LOCK_NB) == 0)
        try await site.append("events.jsonl", try BatchBench.exampleLogs("events-2.jsonl", tokens: [2]))
        let refused = try await site.kiln()
        #expect(
            refused.status == 0 && refused.result.stdout.contains("another kiln batch is running on "),
            "\(refused.transcript)"
        )
        await #expect(try store.jobs(status: .queued).isEmpty)
    }

    @Test func nodesDownMeansNoQuorumThenTheNextRunCatchesUp() async throws {
        let bench = try await BatchBench()
        let site = try await bench.site("site", events: try BatchBench.exampleLogs("events-1.jsonl", tokens: [1, 2]))
        // Nodes that are down answer nothing: a short timeout for this run keeps the test quick.
        let config = try String(contentsOf: site.dir.appendingPathComponent("kiln.yml"), encoding: .utf8)
        try await site.write("kiln.yml", config.replacingOccurrences(of: "nodeTimeout: 30", with: "nodeTimeout: 2"))
        let down = try await site.kiln(environment: ["KILN_OPERATORS": "../operators-down.yml"])
        try await site.write("kiln.yml", config)
        #expect(down.status == 3, "\(down.transcript)")
        #expect(down.status(1) == "no_quorum" && down.status(2) == "no_quorum")
        let reason = down.jobs.first.flatMap { $0["reason"] as? String } ?? ""
        #expect(reason.contains("quorum"), "\(down.transcript)")
        let store = try SQLiteStore(path: site.store)
        let waiting = try await store.jobs(status: .noQuorum)
        #expect(waiting.count == 2 && waiting.allSatisfy { $0.lastError != nil })
        await #expect(try store.publications(batch: nil).isEmpty)

        let up = try await site.kiln()
        #expect(up.status == 0, "\(up.transcript)")
        #expect(up.status(1) == Self.published && up.status(2) == Self.published)
        await #expect(try store.jobs(status: .done).count == 2)
    }

    /// Bad input for one contract (a template that stops compiling, a malformed line, a stranger's log) is
    /// reported with exit 1; the other contract's tokens are still published and nothing published is touched.
    @Test func badInputForOneContractLeavesTheOtherAndThePastAlone() async throws {
        let bench = try await BatchBench()
        let templateB = bench.folder.appendingPathComponent("template-b")
        try FileManager.default.copyItem(at: BatchBench.template, to: templateB)
        let a = try await BatchBench.exampleLogs("events-1.jsonl", tokens: [1, 2])
        let b = a.map { BatchBench.moved($0, to: BatchBench.contractB, logIndexOffset: 0x100) }
        let site = try await bench.site(
            "site",
            contracts: [(BatchBench.contractA, BatchBench.template), (BatchBench.contractB, templateB)],
            events: a + b
        )
        let first = try await site.kiln()
        #expect(first.status == 0 && first.summary?["published"] as? Int == 4, "\(first.transcript)")
        let afterFirst = try await site.outputs()
        let store = try SQLiteStore(path: site.store)
        let tokenB2 = TokenKey(chainId: 31337, contract: try Address(hex: BatchBench.contractB), id: 2)
        let publishedB2 = try await store.latestPublication(tokenB2)

        // B's template stops type-checking; the events file gets a malformed line and a log of an unwatched contract.
        let templateFile = templateB.appendingPathComponent("template.yml")
        let good = try String(contentsOf: templateFile, encoding: .utf8)
        #expect(good.contains("when: \"state.level >= 3\""))
        try Data(
            good.replacingOccurrences(of: "when: \"state.level >= 3\"", with: "when: \"state.level >= 'three'\"").utf8
        ).write(to: templateFile)
        let levelUp = try await BatchBench.exampleLogs("events-2.jsonl", tokens: [2])
        let stranger = "0x00000000000000000000000000000000000000dd"
        try await site.append(
            "events.jsonl",
            ["{\"address\": \"0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed\", \"topics\": ["]
                + levelUp + levelUp.map { BatchBench.moved($0, to: BatchBench.contractB, logIndexOffset: 0x100) }
                + levelUp.map { BatchBench.moved($0, to: stranger, logIndexOffset: 0x200) }
        )
        let second = try await site.kiln()
        #expect(second.status == 1, "\(second.transcript)")
        #expect(second.status(2) == Self.published && second.status(2, BatchBench.contractB) == nil)
        let problems = second.problems.joined(separator: "\n")
        #expect(
            problems.contains("events.jsonl:\(a.count + b.count + 1):"),
            "the malformed line, by number: \(problems)"
        )
        #expect(problems.contains("template.yml:"), "the template error, by place: \(problems)")
        #expect(
            problems.localizedCaseInsensitiveContains("0x00000000000000000000000000000000000000DD")
                && problems.contains("not in kiln.yml")
        )
        await #expect(try store.latestPublication(tokenB2) == publishedB2, "B's published token is untouched")
        let afterSecond = try await site.outputs()
        #expect(afterSecond["batch-1.car"] == afterFirst["batch-1.car"])

        // The template is fixed and the bad line removed: B's token 2 catches up; A's is not redone.
        try Data(good.utf8).write(to: templateFile)
        let text = try String(contentsOf: site.dir.appendingPathComponent("events.jsonl"), encoding: .utf8)
        try await site.write(
            "events.jsonl",
            text.split(separator: "\n").filter { !$0.hasSuffix("[") }.joined(separator: "\n") + "\n"
        )
        let third = try await site.kiln()
        #expect(third.status == 0 && third.problems.isEmpty, "\(third.transcript)")
        #expect(third.statuses == ["\(BatchBench.contractB)#2": Self.published], "\(third.transcript)")
    }
}
