import Foundation
import KilnCore
import KilnTesting
import Testing

/// Pushing batches to IPFS providers: kubo's RPC and the Pinning Service API, through stand-ins that check what
/// they receive with their own code (and the pinning one fetches the batch back from `kiln serve`), with the
/// failures a real provider gives — 401, 403, 429, 5xx, a pin that stays queued, one that fails — stored, reported by
/// `kiln status`, and tried again by the next run.
struct ProvidersTests {
    static func standin(_ script: String, _ arguments: [String]) async throws -> (ServiceProcess, String) {
        let path = PythonBench.packageRoot.appendingPathComponent("scripts/standins/\(script)").path
        let process = try await ServiceProcess.start(
            PythonBench.python,
            [path] + arguments,
            name: script,
            accept: { $0.hasPrefix("http://127.0.0.1:") }
        )
        return (process, process.firstLine)
    }

    @Test func pushesRetriesAndReports() async throws {
        let folder = try await DemoOutput.shared.copy()
        defer { try? FileManager.default.removeItem(at: folder) }
        let demo = folder.appendingPathComponent("kiln-demo")
        let (server, gateway) = try await ServeTests.serve(in: folder)
        defer { server.stop() }

        let kuboToken = "kubo-secret-\(UUID().uuidString.prefix(8))"
        let pinToken = "pin-secret-\(UUID().uuidString.prefix(8))"
        let (kubo, kuboURL) = try await Self.standin("kubo_standin.py", ["--bearer", kuboToken])
        defer { kubo.stop() }
        let (broken, brokenURL) = try await Self.standin("kubo_standin.py", ["--fail-first", "1000"])
        defer { broken.stop() }
        let (pinning, pinningURL) = try await Self.standin(
            "pinning_standin.py",
            ["--token", pinToken, "--rate-limit", "2"]
        )
        defer { pinning.stop() }
        let (queued, queuedURL) = try await Self.standin("pinning_standin.py", ["--token", pinToken, "--stay-queued"])
        defer { queued.stop() }
        let (failing, failingURL) = try await Self.standin(
            "pinning_standin.py",
            ["--token", pinToken, "--answer-failed"]
        )
        defer { failing.stop() }
        let (refusing, refusingURL) = try await Self.standin("pinning_standin.py", ["--token", "another-account"])
        defer { refusing.stop() }

        // The pinning token from a 0600 file; kubo's from the environment.
        let tokenFile = demo.appendingPathComponent("pin.token")
        try Data((pinToken + "\n").utf8).write(to: tokenFile)
        chmod(tokenFile.path, 0o600)
        var yaml = try String(contentsOf: demo.appendingPathComponent("kiln.yml"), encoding: .utf8)
        yaml += """
            publish:
              ipfs:
                - {kubo: \(kuboURL), bearer: env:KILN_TEST_KUBO_TOKEN}
                - {kubo: \(brokenURL)}
                - {pinning: \(pinningURL), token: "file:\(tokenFile.path)"}
                - {pinning: \(queuedURL), token: "file:\(tokenFile.path)"}
                - {pinning: \(failingURL), token: "file:\(tokenFile.path)"}
                - {pinning: \(refusingURL), token: "file:\(tokenFile.path)"}
              check: \(gateway)
              origins: [\(gateway)]
              pinWait: 10

            """
        // pinWait: the stand-in pins once it has fetched the blocks from the gateway; 2 s was too short on a CI
        // machine running every suite at once (seen: `queued` after 2 s). The `queued` stand-in costs a run this long.
        try yaml.write(to: demo.appendingPathComponent("kiln.yml"), atomically: true, encoding: .utf8)

        // Run 1: kubo refuses the wrong token (403), the broken kubo answers 500 every time, the pinning service
        // rate-limits twice then pins, one stays queued, one fails, one refuses the token (401). Stored and
        // reported; exit 1.
        let first = try await KilnProcess.run(
            ["batch", "--config", "kiln-demo/kiln.yml", "--log-format", "json"],
            in: folder,
            environment: ["KILN_TEST_KUBO_TOKEN": "wrong-token"]
        )
        #expect(first.status == 1, "a push that failed makes the run exit 1: \(first.stdout)")
        func statuses(_ output: String) -> [String: String] {
            var found: [String: String] = [:]
            for line in output.split(separator: "\n") {
                guard let value = try? JSONValue.parse(String(line)), value["event"] == "ipfs",
                    let target = value["target"]?.stringValue, let status = value["status"]?.stringValue,
                    let batch = value["batch"]?.integerValue
                else { continue }
                found["\(batch) \(target)"] = status
            }
            return found
        }
        let run1 = statuses(first.stdout)
        for batch in [1, 2] {
            #expect(run1["\(batch) kubo \(kuboURL)"] == "pending", "403: \(run1)")
            #expect(run1["\(batch) kubo \(brokenURL)"] == "pending", "500: \(run1)")
            #expect(run1["\(batch) pinning \(pinningURL)"] == "pinned", "429 waited out: \(run1)")
            #expect(run1["\(batch) pinning \(queuedURL)"] == "queued")
            #expect(run1["\(batch) pinning \(failingURL)"] == "failed")
            #expect(run1["\(batch) pinning \(refusingURL)"] == "pending", "401: \(run1)")
            #expect(run1["\(batch) check \(gateway)"] == "verified", "checked once a provider has it")
        }
        #expect(first.stdout.contains("HTTP 403") && first.stdout.contains("HTTP 500"), "the reasons are reported")
        #expect(first.stdout.contains("HTTP 401 UNAUTHORIZED: Access token is missing or invalid"), "\(first.stdout)")

        let status1 = try await KilnProcess.run(["status", "--config", "kiln-demo/kiln.yml"], in: folder)
        #expect(status1.stdout.contains("pinning \(failingURL): failed after 1 attempt(s)"), "\(status1.stdout)")
        #expect(status1.stdout.contains("kubo \(kuboURL): pending after 1 attempt(s); last error:"))
        // A provider that failed the pin needs a person: CRITICAL, as a Nagios check reads it.
        #expect(status1.status == 2 && status1.stdout.contains("CRITICAL  push-failing: batch "), "\(status1.stdout)")

        // Run 2 with the right token: kubo pins both batches; the failed pin is asked for again; the confirmed
        // ones are left alone.
        let second = try await KilnProcess.run(
            ["batch", "--config", "kiln-demo/kiln.yml", "--log-format", "json"],
            in: folder,
            environment: ["KILN_TEST_KUBO_TOKEN": kuboToken]
        )
        let run2 = statuses(second.stdout)
        #expect(run2["1 kubo \(kuboURL)"] == "pinned" && run2["2 kubo \(kuboURL)"] == "pinned", "\(run2)")
        #expect(run2["1 pinning \(pinningURL)"] == nil, "a confirmed push is not made again")
        #expect(run2["1 pinning \(failingURL)"] == "failed")

        let json = try await KilnProcess.run(
            ["status", "--config", "kiln-demo/kiln.yml", "--log-format", "json"],
            in: folder
        )
        let report = try JSONValue.parse(json.stdout.split(separator: "\n").last.map(String.init) ?? "")
        guard case .array(let pushes)? = report["ipfs"] else {
            Issue.record("kiln status has no ipfs: \(json.stdout)")
            return
        }
        #expect(pushes.count == 14, "2 batches × 7 targets")
        let failedAttempts = pushes.first {
            $0["target"]?.stringValue == "pinning \(failingURL)" && $0["batch"] == .number(1)
        }?["attempts"]
        #expect(failedAttempts == .number(2), "tried again by the second run")

        // What the stand-ins hold: kubo pinned both roots; the pinning service pinned them after fetching them
        // from kiln serve (the origins it was given).
        let roots = Set(pushes.compactMap { $0["root"]?.stringValue })
        #expect(roots.count == 2)
        for root in roots {
            let pinned = try await KilnProcess.run(
                [
                    "-s", "-X", "POST", "-H", "Authorization: Bearer \(kuboToken)",
                    "\(kuboURL)/api/v0/pin/ls?arg=\(root)",
                ],
                program: URL(fileURLWithPath: "/usr/bin/curl")
            )
            #expect(pinned.stdout.contains(root) && pinned.stdout.contains("recursive"), "\(pinned.stdout)")
        }
        let list = try await KilnProcess.run(
            ["-s", "-H", "Authorization: Bearer \(pinToken)", "\(pinningURL)/pins"],
            program: URL(fileURLWithPath: "/usr/bin/curl")
        )
        let listed = try JSONValue.parse(list.stdout)
        guard case .array(let results)? = listed["results"] else {
            Issue.record("GET /pins: \(list.stdout)")
            return
        }
        #expect(Set(results.compactMap { $0["pin"]?["cid"]?.stringValue }) == roots)
        #expect(results.allSatisfy { $0["status"] == "pinned" })
        let port = gateway.split(separator: ":").last.map(String.init) ?? ""
        #expect(results.allSatisfy { $0["pin"]?["origins"] == [.string("/ip4/127.0.0.1/tcp/\(port)/http")] })

        // The kubo stand-in refuses a CAR with a block that does not match its CID (its own check, not Kiln's).
        var car = Array(try Data(contentsOf: demo.appendingPathComponent("out/batch-2.car")))
        car[car.count - 10] ^= 0xFF
        try Data(car).write(to: folder.appendingPathComponent("bad.car"))
        let refused = try await KilnProcess.run(
            [
                "-s", "-X", "POST", "-H", "Authorization: Bearer \(kuboToken)", "-F", "file=@bad.car",
                "\(kuboURL)/api/v0/dag/import?pin-roots=true",
            ],
            in: folder,
            program: URL(fileURLWithPath: "/usr/bin/curl")
        )
        #expect(refused.stdout.contains("does not match its CID"), "\(refused.stdout)")

        // No secret in any output or in the store.
        var stored = Data()
        for name in try FileManager.default.contentsOfDirectory(atPath: demo.appendingPathComponent("data").path) {
            stored.append(try Data(contentsOf: demo.appendingPathComponent("data/\(name)")))
        }
        let everything = first.stdout + first.stderr + second.stdout + second.stderr + status1.stdout + json.stdout
        for secret in [kuboToken, pinToken] {
            #expect(!everything.contains(secret), "a token was printed")
            #expect(stored.range(of: Data(secret.utf8)) == nil, "a token was stored")
        }
    }

    @Test func badProviderConfigurationIsAClearError() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "kiln-providers-\(UUID().uuidString)"
        )
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for (publish, message) in [
            ("{ipfs: [{pinning: http://127.0.0.1:1, token: plain-secret}]}", "env:NAME or file:PATH"),
            ("{ipfs: [{kubo: ftp://x}]}", "publish.ipfs[0].kubo"),
            ("{ipfs: [{web3: http://x}]}", "publish.ipfs[0]"),
            ("{ipfs: [{pinning: http://127.0.0.1:1}]}", "token"),
        ] {
            try """
            chainId: 31337
            store: data/kiln.sqlite
            out: out
            events: {file: events.jsonl}
            contracts: [{address: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", template: t}]
            operators: {file: operators.yml}
            publish: \(publish)
            """.write(to: folder.appendingPathComponent("kiln.yml"), atomically: true, encoding: .utf8)
            let result = try await KilnProcess.run(["status", "--config", "kiln.yml"], in: folder)
            #expect(result.status != 0)
            #expect(result.stderr.contains("kiln.yml:7:") && result.stderr.contains(message), "\(result.stderr)")
            #expect(!result.stderr.contains("plain-secret"), "a secret written in kiln.yml is not echoed")
        }
    }
}
