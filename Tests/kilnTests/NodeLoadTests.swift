import Foundation
import KilnCore
import KilnTesting
import Testing

/// `kiln node serve` under a hostile load (scripts/dev/node_load.py: asyncio, raw sockets) while honest jobs go on.
struct NodeLoadTests {
    @Test func aNodeUnderLoadKeepsServingHonestJobsInBoundedMemory() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-load-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let made = try await KilnProcess.run(["key", "new", "-o", "node.key"], in: folder)
        #expect(made.status == 0)
        let node = try await ServiceProcess.start(
            KilnProcess.executable,
            [
                "node", "serve", "--key", folder.appendingPathComponent("node.key").path, "--port", "0",
                "--request-timeout", "3", "--rate-limit", "50", "--rate-burst", "100", "--max-connections-per-ip", "64",
            ],
            name: "kiln node serve",
            accept: { $0.hasPrefix("listening on ") }
        )
        defer { node.stop() }
        let url = String(node.firstLine.split(separator: " ")[2])
        let connections = 1500
        // The whole test suite runs in parallel on CI's two cores: when the other suites' nodes and batches take
        // nearly all of them, neither the node nor the load generator gets the CPU to do anything in 10 s (one
        // clean-clone run: 2 honest jobs, 6 garbage requests, no timer fired in time). Such a starved run says
        // nothing about the node; it is reported and the load is run again (at most three times), on a node
        // that has been under load since.
        var report = JSONValue.null, summary = ""
        func counts(_ kind: String) -> [String: Int] {
            guard case .object(let members)? = report[kind] else { return [:] }
            return members.compactMapValues { $0.integerValue.flatMap { Int(exactly: $0) } }
        }
        for attempt in 1...3 {
            // The suites start all at once; the load runs once the machine has half its CPU to give (or after
            // six minutes of waiting), as a node facing the internet would have.
            try await Self.waitForIdleCPU(atLeast: 0.5, patience: .seconds(360))
            let load = try await KilnProcess.run(
                [
                    PythonBench.packageRoot.appendingPathComponent("scripts/dev/node_load.py").path, url,
                    String(node.pid),
                    "--seconds", "10", "--connections", String(connections), "--request-timeout", "3",
                ],
                program: PythonBench.python
            )
            try #require(load.status == 0, "\(load.stderr)")
            (report, summary) = (try JSONValue.parse(load.stdout), load.stdout)
            // Starved: fewer garbage requests than the rate limit lets through in 10 s (100 + 50/s: alone this load
            // sends over 13 000; one CI run sent 146 and so saw no 429), or an honest request the starved generator
            // could not finish sending within the request timeout (408).
            let garbage = counts("invalid_json").values.reduce(0, +)
            let honest = counts("honest")
            let starved = honest.keys.sorted() != ["200"] || honest["200", default: 0] < 5 || garbage < 600
            guard attempt < 3, starved else { break }
            print("node under load: attempt \(attempt) starved of CPU, run again: \(load.stdout)")
        }
        // Honest jobs from the coordinator's address all answered.
        #expect(counts("honest").keys.sorted() == ["200"] && counts("honest")["200", default: 0] >= 5, "\(summary)")
        // Bodies over the limit: 413; garbage: 400, then 429 once over the rate; nothing else (no 5xx). The load
        // generator shares two cores with 2 000 connections: when it stalls past the request timeout between two
        // garbage requests, the node rightly cuts that connection (408, or a reset), and the generator reconnects.
        #expect(counts("oversized") == ["413": 20], "\(summary)")
        let garbage = counts("invalid_json")
        #expect(garbage["400", default: 0] > 0 && garbage["429", default: 0] > 0, "\(summary)")
        #expect(Set(garbage.keys).isSubset(of: ["400", "429", "408", "closed"]), "\(summary)")
        // Slow heads and slow bodies are cut at the request timeout (408, or a reset if the client was mid-send).
        for kind in ["slowloris", "slow_body"] {
            #expect(Set(counts(kind).keys).isSubset(of: ["408", "reset", "closed"]), "\(kind): \(summary)")
        }
        #expect(counts("cut_after_seconds")["max", default: 99] <= 3 + 3, "\(summary)")
        // Thousands of connections held at once; idle ones answered 408; one address never gets more than 64.
        #expect((report["most_connections_held"]?.integerValue).map { $0 >= 1000 } == true, "\(summary)")
        #expect(counts("idle")["408", default: 0] >= connections * 9 / 10, "\(summary)")
        #expect(counts("crowd")["408", default: 0] <= 64, "\(summary)")
        // Memory stays bounded (a debug build; the load holds 2 000 connections and streams 160 MiB of bodies).
        #expect((report["peak_hwm_mib"]?.integerValue).map { $0 <= 512 } == true, "\(summary)")
        print("node under load: \(summary)")
    }

    /// Waits until the machine's CPUs were idle for at least `fraction` of one second (from /proc/stat), or until
    /// `patience` has passed.
    static func waitForIdleCPU(atLeast fraction: Double, patience: Duration) async throws {
        func sample() -> (idle: Double, total: Double)? {
            guard let text = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
                let line = text.split(separator: "\n").first, line.hasPrefix("cpu ")
            else { return nil }
            let values = line.split(separator: " ").dropFirst().compactMap { Double($0) }
            guard values.count >= 5 else { return nil }
            return (values[3] + values[4], values.reduce(0, +))  // idle + iowait, all
        }
        let deadline = ContinuousClock.now + patience
        while ContinuousClock.now < deadline {
            guard let before = sample() else { return }
            try await Task.sleep(for: .seconds(1))
            guard let after = sample() else { return }
            let total = after.total - before.total
            if total > 0 && (after.idle - before.idle) / total >= fraction { return }
        }
    }

    /// Two requests pipelined on one connection, each answered after 3 s (`--test-fault slow`), with a request
    /// timeout of 2 s: the timeout covers a request's arrival, not its answer, so both are answered (200), no 408.
    @Test func pipelinedRequestsAreNotCutWhileTheyAreAnswered() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-pipeline-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        #expect(try await KilnProcess.run(["key", "new", "-o", "node.key"], in: folder).status == 0)
        let node = try await ServiceProcess.start(
            KilnProcess.executable,
            [
                "node", "serve", "--key", folder.appendingPathComponent("node.key").path, "--port", "0",
                "--request-timeout", "2", "--test-fault", "slow", "--slow-seconds", "3",
            ],
            name: "kiln node serve",
            accept: { $0.hasPrefix("listening on ") }
        )
        defer { node.stop() }
        let url = try #require(URLComponents(string: String(node.firstLine.split(separator: " ")[2])))
        // Raw HTTP/1.1 from Python's socket module: both requests in one write, then every answer read.
        let script = """
            import json, re, socket, sys
            host, port = sys.argv[1], int(sys.argv[2])
            def job(n):
                body = json.dumps({"jobId": "0x%064x" % n, "modelId": "kiln/cppn-v1",
                                   "input": {"seed": n, "width": 16, "height": 16}, "referenceBlock": 7}).encode()
                return b"POST /v1/jobs HTTP/1.1\\r\\nHost: x\\r\\nContent-Type: application/json\\r\\n" + \\
                    b"Content-Length: %d\\r\\n\\r\\n" % len(body) + body
            s = socket.create_connection((host, port))
            s.sendall(job(1) + job(2))
            s.settimeout(30)
            data = b""
            while data.count(b"HTTP/1.1 ") < 2:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            print(json.dumps([code.decode() for code in re.findall(rb"HTTP/1\\.1 (\\d{3}) ", data)]))
            """
        let run = try await KilnProcess.run(
            ["-I", "-c", script, url.host ?? "127.0.0.1", String(url.port ?? 0)],
            program: PythonBench.python
        )
        #expect(
            run.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == #"["200", "200"]"#,
            "\(run.stdout)\(run.stderr)"
        )
    }
}
