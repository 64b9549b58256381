import Foundation
import KilnTesting
import Testing

/// Every command that touches a key or a token, at trace level: no output, log, store row or published file holds
/// the secret in any encoding (``SecretSweep``). The IPFS providers' tokens are swept in ProvidersTests.
struct SecretsTests {
    static let trace = ["KILN_LOG_LEVEL": "trace"]

    static func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-secrets-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// The 32 bytes of a hex key file (with or without 0x).
    static func keyBytes(_ url: URL) throws -> [UInt8] {
        var hex = try String(contentsOf: url, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
        if hex.hasPrefix("0x") { hex.removeFirst(2) }
        let digits = Array(hex.utf8)
        let bytes = stride(from: 0, to: digits.count - 1, by: 2).compactMap {
            UInt8(String(decoding: digits[$0...$0 + 1], as: UTF8.self), radix: 16)
        }
        try #require(bytes.count == 32, "\(url.lastPathComponent) is not a 32-byte hex key")
        return bytes
    }

    /// A 0600 file holding `text`.
    static func secretFile(_ url: URL, _ text: String) {
        _ = FileManager.default.createFile(
            atPath: url.path,
            contents: Data(text.utf8),
            attributes: [.posixPermissions: 0o600]
        )
    }

    @Test func keyCommandsShowTheAddressNeverTheKey() async throws {
        let dir = try Self.folder()
        let made = try await KilnProcess.run(["key", "new", "-o", "op.key"], in: dir, environment: Self.trace)
        #expect(made.status == 0, "\(made.stderr)")
        let sweep = SecretSweep(bytes: try Self.keyBytes(dir.appendingPathComponent("op.key")))
        let shown = try await KilnProcess.run(["key", "address", "op.key"], in: dir, environment: Self.trace)
        #expect(shown.status == 0 && shown.stdout == made.stdout)
        // A key file others can read is refused, and the refusal does not quote it.
        try FileManager.default.setAttributes(
            [.posixPermissions: 0o644],
            ofItemAtPath: dir.appendingPathComponent("op.key").path
        )
        let refused = try await KilnProcess.run(["key", "address", "op.key"], in: dir, environment: Self.trace)
        #expect(refused.status != 0 && refused.stderr.contains("chmod 600"), "\(refused.stderr)")
        let hits =
            [made, shown, refused].flatMap { sweep.hits(in: $0.stdout + $0.stderr, "output") }
            + (try sweep.hits(under: dir, skipping: ["op.key"]))
        #expect(hits.isEmpty, "\(hits)")
    }

    /// `kiln demo` (run once for every test, at trace level: ``DemoOutput``) makes four operator keys; they are in
    /// keys/ and nowhere else: not in its output, logs, store, CARs, blocks, manifest or metrics.
    @Test func theDemoKeepsOperatorKeysInTheirFilesOnly() async throws {
        let demo = try await DemoOutput.shared.copy().appendingPathComponent("kiln-demo")
        let logs = try await DemoOutput.shared.stdout() + DemoOutput.shared.stderr()
        let keys = try FileManager.default.contentsOfDirectory(atPath: demo.appendingPathComponent("keys").path)
        #expect(keys.count == 4)
        for name in keys {
            let sweep = SecretSweep(bytes: try Self.keyBytes(demo.appendingPathComponent("keys/\(name)")))
            let hits = sweep.hits(in: logs, "demo output") + (try sweep.hits(under: demo, skipping: ["keys"]))
            #expect(hits.isEmpty, "\(name): \(hits)")
        }
    }

    /// `kiln node serve` at trace level, answering jobs and Infernet requests with and without its tokens: its
    /// logs and answers hold neither its key nor its bearer tokens.
    @Test func aNodeAtTraceLevelNeverWritesItsKeyOrItsTokens() async throws {
        let dir = try Self.folder()
        let made = try await KilnProcess.run(["key", "new", "-o", "node.key"], in: dir)
        #expect(made.status == 0)
        let token = "node-token-\(UUID().uuidString)"
        let bearer = "infernet-bearer-\(UUID().uuidString)"
        Self.secretFile(dir.appendingPathComponent("token"), token)
        Self.secretFile(dir.appendingPathComponent("bearer"), bearer)
        let log = dir.appendingPathComponent("node.log")
        let node = try await ServiceProcess.start(
            KilnProcess.executable,
            [
                "node", "serve", "--key", dir.appendingPathComponent("node.key").path, "--port", "0",
                "--auth-token-file", dir.appendingPathComponent("token").path,
                "--infernet-bearer-file", dir.appendingPathComponent("bearer").path,
            ],
            name: "kiln node serve",
            environment: Self.trace,
            errors: log,
            accept: { $0.hasPrefix("listening on ") }
        )
        let url = String(node.firstLine.split(separator: " ")[2])
        let job = """
            {"jobId": "0x\(String(repeating: "0", count: 63))1", "modelId": "kiln/cppn-v1", \
            "input": {"seed": 5, "width": 16, "height": 16}, "referenceBlock": 7}
            """
        func post(_ path: String, _ body: String, bearer: String?) async throws -> String {
            let auth = bearer.map { ["-H", "Authorization: Bearer \($0)"] } ?? []
            let result = try await KilnProcess.run(
                ["-s", "-w", "\n%{http_code}", "-H", "Content-Type: application/json", "--data-binary", body]
                    + auth + [url + path],
                program: URL(fileURLWithPath: "/usr/bin/curl")
            )
            return result.stdout
        }
        let answers = [
            try await post("/v1/jobs", job, bearer: token),
            try await post("/v1/jobs", job, bearer: "wrong-\(token)"),
            try await post("/v1/jobs", job, bearer: nil),
            try await post("/service_output", "{\"source\": 1, \"destination\": 1, \"data\": \(job)}", bearer: bearer),
            try await post("/service_output", "{\"source\": 1, \"destination\": 1, \"data\": \(job)}", bearer: token),
        ]
        #expect(answers.map { $0.split(separator: "\n").last.map(String.init) } == ["200", "401", "401", "200", "401"])
        node.terminate()
        _ = await node.waitForExit(timeout: 30)
        let logged = try String(contentsOf: log, encoding: .utf8)
        #expect(
            logged.contains("trace") || logged.contains("debug"),
            "the node logged below info: \(logged.prefix(500))"
        )
        for (name, sweep) in [
            ("key", SecretSweep(bytes: try Self.keyBytes(dir.appendingPathComponent("node.key")))),
            ("auth token", SecretSweep(text: token)), ("Infernet bearer", SecretSweep(text: bearer)),
        ] {
            let hits = sweep.hits(in: logged, "node log") + answers.flatMap { sweep.hits(in: $0, "answer") }
            #expect(hits.isEmpty, "\(name): \(hits)")
        }
    }
}
