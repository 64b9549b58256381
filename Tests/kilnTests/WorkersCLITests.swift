import Foundation
import KilnContent
import KilnCore
import KilnTesting
import Testing

/// Several `kiln worker` processes and one coordinator (`kiln batch --no-work`) on a real PostgreSQL store, as
/// separate machines would run them (each worker with an output folder of its own; blocks travel through the
/// database). On loopback: the workers are processes of this machine, not network namespaces.
@Suite(.serialized) struct WorkersCLITests {
    static let tokens: Set<Int> = [1, 2, 3, 4, 5, 6]

    /// A site whose store is a fresh PostgreSQL database.
    func postgresSite(_ bench: BatchBench, events: [String], url given: String? = nil) async throws -> (Site, String) {
        let site = try await bench.site("pg", events: events)
        let url: String
        if let given { url = given } else { url = try await PostgresTestServer.makeDatabase() }
        let yaml = try String(contentsOf: site.dir.appendingPathComponent("kiln.yml"), encoding: .utf8)
        try await site.write(
            "kiln.yml",
            yaml.replacingOccurrences(of: "store: data/kiln.sqlite", with: "store: \(url)")
        )
        return (site, url)
    }

    func worker(_ site: Site, _ name: String, environment: [String: String] = [:]) async throws -> ServiceProcess {
        try await ServiceProcess.start(
            KilnProcess.executable,
            [
                "worker", "--config", "kiln.yml", "--out", name, "--name", name, "--concurrency", "2", "--log-format",
                "json",
            ],
            name: "kiln worker \(name)",
            environment: environment,
            directory: site.dir,
            errors: site.dir.appendingPathComponent("\(name).stderr"),
            accept: { $0.contains("worker-started") }
        )
    }

    /// What worker `name` of `site` wrote on stderr (its logs), for a failure message.
    static func stderr(of name: String, in site: Site) -> String {
        (try? String(contentsOf: site.dir.appendingPathComponent("\(name).stderr"), encoding: .utf8)) ?? ""
    }

    /// When the coordinator failed (or was killed at its timeout): the jobs table and what each worker printed.
    static func explainFailure(of batch: Outcome, url: String, workers: [ServiceProcess]) async throws {
        guard batch.status != 0 else { return }
        let jobs = try await jobsTable(url)
        let printed = workers.map { "\($0.firstLine)\n\($0.output)" }.joined(separator: "\n---\n")
        Issue.record("the coordinator failed:\n\(batch.transcript)\njobs:\n\(jobs)\nworkers:\n\(printed)")
    }

    /// The jobs table, a row per job, for a failure message.
    static func jobsTable(_ url: String) async throws -> String {
        try await PostgresTestServer.psql(
            url,
            "SELECT id, status, lease_owner, lease_until, attempts, leased_batch, last_error FROM jobs ORDER BY id"
        )
    }

    @Test func threeWorkersPublishEveryJobOnceAndTheBatchEqualsOneSQLiteBatch() async throws {
        let bench = try await BatchBench()
        let logs = try await BatchBench.exampleLogs("events-1.jsonl", tokens: Self.tokens)
        // The reference: the same events through one `kiln batch` on SQLite.
        let reference = try await bench.site("sqlite", events: logs)
        let alone = try await reference.kiln()
        #expect(alone.status == 0 && alone.summary?["published"] as? Int == Self.tokens.count, "\(alone.transcript)")

        let (site, url) = try await postgresSite(bench, events: logs)
        let leases = ["KILN_LEASE_SECONDS": "4"]
        // The first worker kills itself (SIGKILL) right after its first inference, holding its lease.
        let doomed = try await worker(
            site,
            "w0",
            environment: leases.merging(["KILN_TEST_FAULT_CRASH": "after-inference"]) { $1 }
        )
        // Six jobs take seconds; a coordinator still waiting after 10 minutes is killed and the failure shows the
        // jobs table and what each worker printed.
        async let coordinator = site.kiln("batch", ["--no-work"], environment: leases, timeout: 600)
        let death = await doomed.waitForExit(timeout: 120)
        let left = [
            doomed.exitStatus.map { "exit \($0)" } ?? "running", doomed.firstLine, doomed.output,
            Self.stderr(of: "w0", in: site),
        ].joined(separator: "\n")
        #expect(death.exited && death.signaled, "the first worker should have killed itself mid-job: \(left)")
        let workers = [
            try await worker(site, "w1", environment: leases), try await worker(site, "w2", environment: leases),
            try await worker(site, "w3", environment: leases),
        ]
        let batch = try await coordinator
        try await Self.explainFailure(of: batch, url: url, workers: workers)
        // The jobs table as the batch left it, for the messages below.
        let jobs = try await Self.jobsTable(url)
        #expect(
            batch.summary?["batch"] as? Int == 1 && batch.summary?["published"] as? Int == 0,
            "\(batch.transcript)"
        )
        #expect(batch.summary?["publishedByWorkers"] as? Int == Self.tokens.count, "\(batch.transcript)")
        #expect(
            batch.events.contains { $0["event"] as? String == "waiting" },
            "the coordinator waited for workers: \(batch.transcript)"
        )

        // Every job published exactly once; the killed worker's job was taken over after its lease expired.
        #expect(
            try await PostgresTestServer.psql(url, "SELECT count(*), count(DISTINCT job_id) FROM publications")
                == "6|6",
            "jobs:\n\(jobs)"
        )
        #expect(
            try await PostgresTestServer.psql(url, "SELECT status, count(*) FROM jobs GROUP BY status") == "done|6",
            "jobs:\n\(jobs)"
        )
        let attempts = try await PostgresTestServer.psql(url, "SELECT attempts FROM jobs ORDER BY id")
        // The killed worker's jobs were taken over (at least a second attempt). Under CI's load a survivor's lease
        // can lapse too and its job be taken once more (seen: 4 attempts); each job is still published once (above).
        #expect(
            attempts.split(separator: "\n").contains { Int($0).map { $0 >= 2 } == true },
            "a job was taken over: \(attempts)\njobs:\n\(jobs)"
        )
        let owners = try await PostgresTestServer.psql(url, "SELECT count(DISTINCT lease_owner) FROM jobs")
        #expect(owners == "0", "no lease left behind:\n\(jobs)")

        // The coordinator's CAR, sheet and manifest are byte for byte those of the single SQLite batch.
        let mine = try await site.outputs(), theirs = try await reference.outputs()
        for name in ["batch-1.car", "batch-1-sheet.png", "manifest.json"] {
            #expect(mine[name] != nil && mine[name] == theirs[name], "\(name) differs from the SQLite batch's")
        }
        // No orphan block: every block the database keeps is in the batch's CAR (the killed job left none).
        let car = try MemoryBlockstore(car: site.out.appendingPathComponent("batch-1.car").path)
        let kept = try await PostgresTestServer.psql(url, "SELECT cid FROM blocks").split(separator: "\n")
        #expect(!kept.isEmpty, "blocks in the database")
        for cid in kept { #expect(car.has(try CID(String(cid))), "block \(cid) is in no publication") }

        // `kiln status` shows the workers and that no lease is held; `kiln verify` by token works from the store.
        let status = try await site.kiln("status")
        let record = try #require(status.events.first { $0["event"] as? String == "status" })
        let names = Set(((record["workers"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String })
        #expect(names == ["w0", "w1", "w2", "w3"], "\(status.transcript)")
        #expect((record["leases"] as? [Any])?.isEmpty == true, "\(status.transcript)")
        let verified = try await KilnProcess.run(
            ["verify", "--config", "kiln.yml", "\(BatchBench.contractA):3"],
            in: site.dir,
            environment: ["KILN_OUT": "elsewhere"]
        )
        #expect(
            verified.status == 0 && verified.stdout.hasSuffix("verified: byte-identical\n"),
            "\(verified.stdout)\(verified.stderr)"
        )
        workers.forEach { $0.stop() }
    }

    /// PostgreSQL restarted while workers run a batch: they and the coordinator reconnect (postgres-nio's pool,
    /// with backoff) and finish; the batch closes once, every job published once. A server of the test's own, so
    /// the restart touches no other test.
    @Test func aDatabaseRestartMidBatchIsRiddenOut() async throws {
        let server = try await PostgresTestServer.startPrivate()
        let bench = try await BatchBench()
        let logs = try await BatchBench.exampleLogs("events-1.jsonl", tokens: Self.tokens)
        let (site, url) = try await postgresSite(bench, events: logs, url: server.url)
        let leases = ["KILN_LEASE_SECONDS": "6"]
        let workers = [
            try await worker(site, "r1", environment: leases), try await worker(site, "r2", environment: leases),
        ]
        // Six jobs take seconds; a coordinator still waiting after 10 minutes is killed and the failure shows the
        // jobs table and what each worker printed.
        async let coordinator = site.kiln("batch", ["--no-work"], environment: leases, timeout: 600)
        // Restart once the batch is open and the workers are at it.
        var open = false
        for _ in 0..<200 where !open {
            try await Task.sleep(for: .milliseconds(100))
            open = (try? await PostgresTestServer.psql(url, "SELECT count(*) FROM batches")) == "1"
        }
        #expect(open, "the coordinator opened the batch")
        try await PostgresTestServer.restart(server.folder)
        let batch = try await coordinator
        try await Self.explainFailure(of: batch, url: url, workers: workers)
        #expect(batch.summary?["publishedByWorkers"] as? Int == Self.tokens.count, "\(batch.transcript)")
        #expect(
            try await PostgresTestServer.psql(url, "SELECT count(*), count(DISTINCT job_id) FROM publications") == "6|6"
        )
        #expect(try await PostgresTestServer.psql(url, "SELECT number, status FROM batches") == "1|closed")
        #expect(try await PostgresTestServer.psql(url, "SELECT status, count(*) FROM jobs GROUP BY status") == "done|6")
        workers.forEach { $0.stop() }
        try await PostgresTestServer.stop(server.folder)
    }

    /// A worker told to stop while its database is gone exits within its grace period (postgres-nio's pool alone
    /// would hold it for a minute), saying so; its leases are left to expire.
    @Test func aStoppedWorkerExitsWithinItsGraceWhenTheDatabaseIsGone() async throws {
        let server = try await PostgresTestServer.startPrivate()
        let bench = try await BatchBench()
        let logs = try await BatchBench.exampleLogs("events-1.jsonl", tokens: Self.tokens)
        let (site, _) = try await postgresSite(bench, events: logs, url: server.url)
        let worker = try await ServiceProcess.start(
            KilnProcess.executable,
            ["worker", "--config", "kiln.yml", "--name", "g1", "--stop-grace", "2", "--log-format", "json"],
            name: "kiln worker g1",
            directory: site.dir,
            accept: { $0.contains("worker-started") }
        )
        defer { worker.stop() }
        try await PostgresTestServer.stop(server.folder)
        try await Task.sleep(for: .seconds(1))  // its next store call is now waiting on a database that is gone
        worker.terminate()
        // Without the grace it took about a minute; 2 s of grace, and room for a loaded machine.
        let (exited, signaled) = await worker.waitForExit(timeout: 30)
        #expect(exited && !signaled && worker.exitStatus == 0, "\(worker.output)")
        #expect(worker.output.contains("worker stopped after its grace of 2 s"), "\(worker.output)")
    }
}
