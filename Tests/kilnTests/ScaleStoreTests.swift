import BigInt
import Foundation
import KilnCore
import KilnStore
import KilnTesting
import Testing

/// A store of 20 000 published tokens with a history, made by the benchmarks' own tool
/// (`scripts/bench/scale_store.py`): each read whose cost must not grow with the history runs on an index — no plan
/// reads `publications`, `jobs`, `events`, `token_state` or `blocks` whole — and the store reads as Kiln wrote it.
/// The timings at a million tokens are benchmarks (docs/explanation/performance.md), never tests.
@Suite(.serialized) struct ScaleStoreTests {
    static let tokens = 20_000

    /// Makes the store in `work` (a PostgreSQL database at `url`, or SQLite); returns the tool's summary.
    /// `regen`: the tool's last step, `kiln regen 1` writing manifest.json whole (a debug render and a debug manifest
    /// of 24 000 publications: the SQLite test checks it, the PostgreSQL one skips it).
    func makeStore(_ work: URL, url: String?, regen: Bool) async throws -> JSONValue {
        var arguments = [
            PythonBench.packageRoot.appendingPathComponent("scripts/bench/scale_store.py").path, work.path,
            "--tokens", "\(Self.tokens)", "--real", "2", "--kiln", KilnProcess.executable.path,
        ]
        if let url { arguments += ["--store", url] }
        if !regen { arguments.append("--no-regen") }
        let made = try await KilnProcess.run(arguments, program: PythonBench.python, timeout: 600)
        #expect(made.status == 0, "\(made.stderr)")
        return try JSONValue.parse(made.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    func check(_ plans: [QueryPlan], _ store: any Store, site: URL, regen: Bool) async throws {
        #expect(plans.count >= 10)
        for plan in plans {
            #expect(
                plan.fullScans.isEmpty,
                "\(plan.name) reads \(plan.fullScans) whole:\n\(plan.plan.joined(separator: "\n"))"
            )
        }
        let contract = try Address(hex: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
        let totals = try await store.published(chainId: 31337, contract: contract)
        // The tool's own rows, then `kiln regen 1`: one more batch and publication, and manifest.json written whole.
        let (publications, lastBatch) = (Self.tokens * 12 / 10 + (regen ? 1 : 0), regen ? 5 : 4)
        #expect(totals == PublishedTotals(tokens: Self.tokens, publications: publications, lastBatch: lastBatch))
        let deep = try await store.latestPublications(
            chainId: 31337,
            contract: contract,
            page: TokenPage(.after, "19990", limit: 48)
        )
        #expect(deep.map(\.token.tokenId) == (19_991...20_000).map(String.init))
        let newest = try await store.latestPublication(try #require(deep.last).token)
        #expect(deep.last?.jobId == newest?.jobId, "its latest version")
        let status = try await KilnProcess.run(["status"], in: site)
        #expect(status.status == 0, "\(status.stdout)\(status.stderr)")
        #expect(
            status.stdout.contains("last published: batch \(lastBatch); \(publications) publication(s)"),
            "\(status.stdout)"
        )
        if regen {
            let manifest = try JSONValue.parse(
                bytes: try FileBytes.read(site.appendingPathComponent("out/manifest.json").path, limit: 1 << 26)
            )
            guard case .object(let entries)? = manifest["tokens"] else {
                Issue.record("manifest.json has no tokens")
                return
            }
            #expect(entries.count == Self.tokens, "every token in manifest.json")
            let mark = try await store.outputMark(
                site.appendingPathComponent("out/manifest.json").standardizedFileURL.path
            )
            #expect(mark != nil, "and the store knows what it holds")
        }
        // Two real tokens (renders are the slow part of the tool in a debug build): 2 verifies byte for byte.
        let verified = try await KilnProcess.run(["verify", "2"], in: site, timeout: 120)
        #expect(verified.status == 0 && verified.stdout.contains("verified: byte-identical"), "\(verified.stdout)")
        // Token 13's rows name token 1's media (the tool copies CIDs): verify by id says the metadata is another's.
        let copied = try await KilnProcess.run(["verify", "13"], in: site, timeout: 120)
        #expect(copied.status == 1, "\(copied.stdout)\(copied.stderr)")
        #expect(copied.stdout.contains("but that metadata names 31337:"), "\(copied.stdout)")
    }

    @Test func sqliteReadsStayOnIndexes() async throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-scale-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let summary = try await makeStore(work, url: nil, regen: true)
        #expect(summary["publications"]?.integerValue == BigInt(Self.tokens * 12 / 10 + 1))
        let site = work.appendingPathComponent("site")
        let store = try SQLiteStore(path: site.appendingPathComponent("data/kiln.sqlite").path)
        try await check(try await store.queryPlans(), store, site: site, regen: true)
    }

    @Test func postgresReadsStayOnIndexes() async throws {
        let url = try await PostgresTestServer.makeDatabase()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-scale-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        _ = try await makeStore(work, url: url, regen: false)
        let store = try await PostgresStore.open(url: url)
        try await check(try await store.queryPlans(), store, site: work.appendingPathComponent("site"), regen: false)
        try await serveKeepsItsMemory(site: work.appendingPathComponent("site"))
    }

    /// `kiln serve` on PostgreSQL does not keep memory per request. What it holds for a while after each store
    /// call — the pool's keep-alive timer, 10 s — fills within the first 12 s of calls; 6 000 calls after that
    /// grow its resident memory by less than 2 MiB (0.25–0.6 here). Each call used to leave a cancelled 300 s
    /// timer behind (`Task.sleep` keeps its memory until its deadline, swiftlang/swift#60441): 4–4.5 MiB here.
    func serveKeepsItsMemory(site: URL) async throws {
        let server = try await ServiceProcess.start(
            KilnProcess.executable,
            ["serve", "--port", "0"],
            name: "kiln serve",
            directory: site,
            accept: { $0.hasPrefix("listening on http://127.0.0.1:") }
        )
        defer { server.stop() }
        let port = try #require(server.firstLine.split(separator: ":").last.map { String($0) })
        func resident() throws -> Int {
            let status = try String(contentsOfFile: "/proc/\(server.pid)/status", encoding: .utf8)
            let line = try #require(status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") })
            return try #require(Int(line.split(separator: " ", omittingEmptySubsequences: true)[1])) * 1024
        }
        /// At least `count` calls, for at least `seconds`: one keep-alive connection, one request after another, 2 ms
        /// apart (a few hundred a second: the other suites share CI's two cores).
        func health(_ count: Int, seconds: Int = 0) async throws {
            let script = """
                import http.client, itertools, sys, time
                connection = http.client.HTTPConnection("127.0.0.1", int(sys.argv[1]), timeout=30)
                count, end = int(sys.argv[2]), time.monotonic() + int(sys.argv[3])
                for made in itertools.count():
                    if made >= count and time.monotonic() >= end:
                        break
                    connection.request("GET", "/health")
                    response = connection.getresponse()
                    response.read()
                    assert response.status == 200, response.status
                    time.sleep(0.002)
                """
            let ran = try await KilnProcess.run(
                ["-c", script, port, "\(count)", "\(seconds)"],
                program: PythonBench.python
            )
            #expect(ran.status == 0, "\(ran.stderr)")
        }
        try await health(500, seconds: 12)
        let before = try resident()
        try await health(6000)
        let grown = try resident() - before
        #expect(grown < 2 << 20, "kiln serve grew by \(grown >> 10) KiB over 6 000 store calls")
    }
}
