import Foundation
import KilnCore
import KilnStore
import KilnTesting
import Testing

/// SIGKILL at random moments instead of named crash points (those are BatchCLITests'): `kiln batch` killed 20
/// times across two batches, and a node killed mid-round. The delays come from a seeded generator; the seed is
/// printed (`KILN_TEST_KILL_SEED=N` replays a run).
@Suite(.serialized) struct RandomKillTests {
    static func generator() -> (SeededGenerator, UInt64) {
        let seed =
            ProcessInfo.processInfo.environment["KILN_TEST_KILL_SEED"].flatMap { UInt64($0) }
            ?? UInt64.random(in: 0...UInt64.max)
        return (SeededGenerator(seed: seed), seed)
    }

    /// Twenty kills of `kiln batch` at random moments: ten during a first batch, ten during a second (each on a
    /// copy of the site as it stood before that batch), a rerun after each. Every time: the outputs, CARs and
    /// manifest are byte-identical to an uninterrupted run's, each job is published once, no temporary file is
    /// left and the store passes `PRAGMA integrity_check`.
    @Test func twentyRandomKillsLeaveTheSameBytes() async throws {
        var (random, seed) = Self.generator()
        let bench = try await BatchBench()
        let first = try await BatchBench.exampleLogs("events-1.jsonl", tokens: [1, 2])
        let second = try await BatchBench.exampleLogs("events-2.jsonl", tokens: [1, 2, 3, 4, 5, 6])

        // The uninterrupted runs: the expected bytes, and how long each batch takes here and now.
        let reference = try await bench.site("reference", events: first)
        var durations: [Double] = []
        var expected: [[String: Data]] = []
        var publications: [Int] = []
        for phase in 1...2 {
            if phase == 2 { try await reference.append("events.jsonl", second) }
            let started = Date()
            let run = try await reference.kiln()
            durations.append(Date().timeIntervalSince(started))
            #expect(run.status == 0 && run.summary?["batch"] as? Int == phase, "\(run.transcript)")
            expected.append(try await reference.outputs())
            publications.append(try await SQLiteStore(path: reference.store).publications(batch: nil).count)
        }
        // The sites each kill starts from: before the first batch, and after it with the second batch's events.
        let before = try await bench.site("before-1", events: first)
        let between = try await bench.site("before-2", events: first)
        #expect(try await between.kiln().status == 0)
        try await between.append("events.jsonl", second)

        var delays: [Double] = []
        var killed = 0
        for trial in 0..<20 {
            let phase = trial < 10 ? 1 : 2
            // A delay drawn against how long the batch takes; a run that finishes before it (this machine's load
            // varies) tells how long it took, and the trial starts again on a fresh copy with a delay drawn
            // against that (at most three tries).
            var duration = durations[phase - 1]
            var site = try bench.copy(phase == 1 ? before : between, as: "trial-\(trial)")
            var delay = 0.0
            for attempt in 1...3 {
                delay = (Double.random(in: 0..<0.9, using: &random) * duration * 1000).rounded() / 1000
                let outcome = try await KilledRun.start(in: site.dir, killAfter: delay)
                guard let finished = outcome.finishedAfter, attempt < 3 else {
                    if outcome.finishedAfter == nil { killed += 1 }
                    break
                }
                duration = finished
                site = try bench.copy(phase == 1 ? before : between, as: "trial-\(trial)-\(attempt + 1)")
            }
            delays.append(delay)
            let context = "seed \(seed), trial \(trial) (batch \(phase), killed after \(delay) s)"
            let rerun = try await site.kiln()
            #expect(rerun.status == 0, "\(context): \(rerun.transcript)")
            let outputs = try await site.outputs()
            #expect(outputs.keys.sorted() == expected[phase - 1].keys.sorted(), "\(context): the same files")
            for (name, bytes) in expected[phase - 1] where outputs[name] != bytes {
                Issue.record("\(context): \(name) differs from the uninterrupted run's")
            }
            let leftovers = try FileManager.default.subpathsOfDirectory(atPath: site.dir.path).filter {
                $0.contains(".tmp")
            }
            #expect(leftovers.isEmpty, "\(context): temporary files left: \(leftovers)")
            let published = try await SQLiteStore(path: site.store).publications(batch: nil)
            #expect(published.count == publications[phase - 1], "\(context): \(published.count) publications")
            #expect(Set(published.map(\.jobId)).count == published.count, "\(context): each job published once")
            #expect(try await Self.integrityCheck(site.store) == "ok", "\(context)")
        }
        let times = durations.map { String(format: "%.2f", $0) }
        print("random kills: seed \(seed), batches of \(times) s, \(killed) of 20 runs killed, delays \(delays)")
        #expect(killed >= 16, "seed \(seed): most delays should land inside a run (\(killed) of 20)")
    }

    /// A node killed at a random moment of a round: the round reaches quorum with the others or the job waits
    /// for the next run; with the node back, the next run publishes the rest, and every file is the same as an
    /// uninterrupted run's (every published job was answered by all four nodes).
    @Test func aNodeKilledMidRoundIsRetriedNextRun() async throws {
        var (random, seed) = Self.generator()
        let bench = try await BatchBench()
        let events = try await BatchBench.exampleLogs("events-1.jsonl", tokens: [1, 2, 3, 4])
        let reference = try await bench.site("reference", events: events)
        let started = Date()
        let clean = try await reference.kiln()
        let duration = Date().timeIntervalSince(started)
        #expect(clean.status == 0, "\(clean.transcript)")

        let site = try await bench.site("node-killed", events: events)
        let delay = Double.random(in: 0.1..<0.9, using: &random) * duration
        async let run = site.kiln()
        try await Task.sleep(for: .seconds(delay))
        bench.killNode(0)  // 40 % of the stake: the other honest nodes hold 30 %, short of 2/3
        let interrupted = try await run
        print(
            "node kill: seed \(seed), after \(String(format: "%.2f", delay)) s of a \(String(format: "%.2f", duration)) s run"
        )
        let statuses = Set(interrupted.statuses.values)
        #expect(statuses.isSubset(of: ["published", "no_quorum"]), "seed \(seed): \(interrupted.transcript)")
        #expect(
            interrupted.status == (statuses.contains("no_quorum") ? 3 : 0),
            "seed \(seed): \(interrupted.transcript)"
        )

        try await bench.restartNode(0)
        let resumed = try await site.kiln()
        #expect(resumed.status == 0, "seed \(seed): \(resumed.transcript)")
        // Jobs left without quorum are retried in a batch of their own, so batch numbers (and the files that name
        // them) may differ from the reference; each token's image, thumbnail and attestation may not.
        let published = try await SQLiteStore(path: site.store).publications(batch: nil)
        let wanted = try await SQLiteStore(path: reference.store).publications(batch: nil)
        #expect(published.count == 4 && Set(published.map(\.jobId)).count == 4, "seed \(seed): each token once")
        func parts(_ list: [Publication]) -> [String: [String?]] {
            Dictionary(uniqueKeysWithValues: list.map { ($0.token.tokenId, [$0.image, $0.thumbnail, $0.attestation]) })
        }
        #expect(parts(published) == parts(wanted), "seed \(seed): the same images and attestations")
        let verified = try await KilnProcess.run(
            ["verify", "--config", "kiln.yml", "\(BatchBench.contractA):1"],
            in: site.dir
        )
        #expect(verified.status == 0, "seed \(seed): \(verified.stdout)\(verified.stderr)")
    }

    /// SQLite's own check of the store file, by Python's sqlite3 module (not Kiln's code).
    static func integrityCheck(_ path: String) async throws -> String {
        let result = try await KilnProcess.run(
            [
                "-I", "-c",
                "import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])",
                path,
            ],
            program: URL(fileURLWithPath: "/usr/bin/python3")
        )
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// `kiln batch` in a folder, killed with SIGKILL after a delay.
final class KilledRun: @unchecked Sendable {
    // @unchecked: the Process is touched by one task at a time (start, then kill, then the wait on its own thread).
    private let process = Process()

    /// Runs `kiln batch` in `folder` and kills it after `delay` seconds. `finishedAfter` is nil when it was killed,
    /// else about how long the run took (it ended before the delay).
    static func start(in folder: URL, killAfter delay: Double) async throws -> (killed: Bool, finishedAfter: Double?) {
        let run = KilledRun()
        run.process.executableURL = KilnProcess.executable
        run.process.arguments = ["batch", "--config", "kiln.yml", "--log-format", "json"]
        run.process.currentDirectoryURL = folder
        run.process.standardOutput = FileHandle.nullDevice
        run.process.standardError = FileHandle.nullDevice
        try run.process.run()
        let started = ContinuousClock.now
        let deadline = started + .milliseconds(Int64(delay * 1000))
        // Watched every 20 ms, so a run that ends first says when.
        while run.process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(20)) }
        let wasRunning = run.process.isRunning
        if wasRunning { kill(run.process.processIdentifier, SIGKILL) }
        let ended = ContinuousClock.now - started
        try await offPool { run.process.waitUntilExit() }
        if wasRunning && run.process.terminationReason == .uncaughtSignal { return (true, nil) }
        return (false, ended.inSeconds)
    }
}
