import Foundation
import KilnContent
import KilnCore
import KilnTesting
import Testing

/// `kiln serve` over the demo's output, checked from outside: an independent gateway client (Python requests,
/// multiformats, dag-cbor, prometheus_client), curl, `kiln verify` fed CARs fetched from the gateway, and
/// Debian's chromium loading the gallery.
struct ServeTests {
    static let contract = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"

    /// `kiln serve` on a free port over the demo copy in `folder`, and its URL.
    static func serve(in folder: URL) async throws -> (ServiceProcess, String) {
        let server = try await ServiceProcess.start(
            KilnProcess.executable,
            ["serve", "--config", "kiln-demo/kiln.yml", "--port", "0"],
            name: "kiln serve",
            directory: folder,
            accept: { $0.hasPrefix("listening on http://127.0.0.1:") }
        )
        return (server, String(server.firstLine.dropFirst("listening on ".count)))
    }

    @Test func theDemoSaysHowToServe() async throws {
        let output = try await DemoOutput.shared.stdout()
        #expect(output.contains("./kiln serve --config kiln-demo/kiln.yml"))
    }

    /// Every route of `kiln serve` answers as docs/reference/openapi/kiln-serve.yaml says, checked by openapi-core
    /// (scripts/crosscheck/openapi.py), and the document names exactly the routes the server registers.
    @Test func theServerIsWhatItsOpenAPIDocumentSays() async throws {
        let folder = try await DemoOutput.shared.copy()
        defer { try? FileManager.default.removeItem(at: folder) }
        let (server, base) = try await Self.serve(in: folder)
        defer { server.stop() }
        let manifest = try JSONValue.parse(
            bytes: Array(try Data(contentsOf: folder.appendingPathComponent("kiln-demo/out/manifest.json")))
        )
        let token = try #require(manifest["tokens"]?["31337:\(Self.contract)#3"])
        let directory = try #require(token["directory"]?.stringValue).dropFirst("ipfs://".count)
        let metadata = try #require(token["metadata"]?.stringValue).dropFirst("ipfs://".count)
        let outcome = try await OpenAPICheck.run(
            document: "kiln-serve.yaml",
            base: base,
            variables: ["contract": Self.contract, "dir": String(directory), "metadata": String(metadata)],
            sources: ["Sources/KilnServer/KilnServer.swift"]
        )
        #expect(outcome.count > 40)
        #expect(outcome.failures.isEmpty, "\(outcome.failures.joined(separator: "\n"))")
    }

    @Test func gatewayMetadataGalleryAndMetrics() async throws {
        let folder = try await DemoOutput.shared.copy()
        defer { try? FileManager.default.removeItem(at: folder) }

        // A file of three 256 KiB chunks and a folder with index.html, added to the demo's blockstore.
        var generator = SeededGenerator(seed: 15)
        let big = (0..<700_000).map { _ in UInt8.random(in: 0...255, using: &generator) }
        try Data(big).write(to: folder.appendingPathComponent("big.bin"))
        let site = folder.appendingPathComponent("site")
        try FileManager.default.createDirectory(at: site, withIntermediateDirectories: true)
        try Data("<html><body>kiln gateway index</body></html>\n".utf8).write(
            to: site.appendingPathComponent("index.html")
        )
        try Data("spaced\n".utf8).write(to: site.appendingPathComponent("a b.txt"))
        func add(_ path: String) async throws -> String {
            let added = try await KilnProcess.run(["add", path, "--blocks", "kiln-demo/out/blocks"], in: folder)
            try #require(added.status == 0, "\(added.stderr)")
            return added.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let bigCID = try await add("big.bin")
        let siteCID = try await add("site")

        let (server, base) = try await Self.serve(in: folder)
        defer { server.stop() }

        let manifest = try JSONValue.parse(
            bytes: Array(try Data(contentsOf: folder.appendingPathComponent("kiln-demo/out/manifest.json")))
        )
        guard case .object(let tokens)? = manifest["tokens"],
            let directory = tokens["31337:\(Self.contract)#1"]?["directory"]?.stringValue
        else {
            Issue.record("manifest.json has no token 1")
            return
        }
        let tokenDirectory = String(directory.dropFirst("ipfs://".count))

        // The independent client: every CAR parsed and every block checked, scopes, ranges, errors, caching,
        // the metadata API and /metrics.
        let answer = try await PythonBench.run(
            "gateway.py",
            [
                "base": .string(base), "dir": .string(tokenDirectory), "big": .string(bigCID),
                "bigFile": .string(folder.appendingPathComponent("big.bin").path), "site": .string(siteCID),
                "token": .string("/tokens/31337/\(Self.contract)/1"),
            ]
        )
        guard case .array(let checks)? = answer["checks"] else {
            Issue.record("gateway.py gave no checks: \(answer)")
            return
        }
        #expect(checks.count > 50)
        for check in checks {
            guard case .array(let parts) = check, parts.count == 3 else { continue }
            #expect(
                parts[1] == .bool(true),
                "gateway.py: \(parts[0].stringValue ?? "") — \(parts[2].stringValue ?? "")"
            )
        }

        // curl: a raw block hashes to its CID; a Range is the file's bytes.
        let curl = URL(fileURLWithPath: "/usr/bin/curl")
        let raw = try await KilnProcess.run(
            ["-sf", "-o", "dir.bin", "\(base)/ipfs/\(tokenDirectory)?format=raw"],
            in: folder,
            program: curl
        )
        #expect(raw.status == 0)
        let block = Array(try Data(contentsOf: folder.appendingPathComponent("dir.bin")))
        #expect(CID.of(block, codec: CID.dagPB).description == tokenDirectory, "the raw block is the directory's")
        let range = try await KilnProcess.run(
            ["-sf", "-r", "300000-300099", "-o", "part.bin", "\(base)/ipfs/\(bigCID)"],
            in: folder,
            program: curl
        )
        #expect(range.status == 0)
        #expect(Array(try Data(contentsOf: folder.appendingPathComponent("part.bin"))) == Array(big[300_000..<300_100]))

        // kiln verify, fed only CARs fetched from the gateway (and the recorded events).
        let history = try JSONValue.parse(
            bytes: Array(
                try await KilnProcess.run(
                    ["-sf", "\(base)/tokens/31337/\(Self.contract)/1/history"],
                    in: folder,
                    program: curl
                ).stdout.utf8
            )
        )
        guard case .array(let versions)? = history["versions"], let latest = versions.first,
            let metadata = latest["metadata"]?.stringValue
        else {
            Issue.record("no history: \(history)")
            return
        }
        var cars: [String] = []
        for key in ["directory", "template", "inference", "attestation"] {
            guard let cid = latest[key]?.stringValue else { continue }
            let fetched = try await KilnProcess.run(
                ["-sf", "-o", "\(key).car", "\(base)/ipfs/\(cid)?format=car"],
                in: folder,
                program: curl
            )
            #expect(fetched.status == 0, "CAR of \(key)")
            cars += ["--car", "\(key).car"]
        }
        let examples = PythonBench.packageRoot.appendingPathComponent("examples/forge-knights").path
        let verify = try await KilnProcess.run(
            ["verify", metadata] + cars + [
                "--events", examples + "/events-1.jsonl", "--events", examples + "/events-2.jsonl",
            ],
            in: folder
        )
        #expect(
            verify.status == 0 && verify.stdout.contains("verified: byte-identical"),
            "\(verify.stdout)\(verify.stderr)"
        )

        // The gallery in a real browser. Its screenshots go to the test's folder, or, with KILN_UPDATE_SCREENSHOTS=1,
        // to docs/images/ for the README (a test run leaves the checkout as it was).
        let screenshots =
            ProcessInfo.processInfo.environment["KILN_UPDATE_SCREENSHOTS"] == "1"
            ? PythonBench.packageRoot.appendingPathComponent("docs/images") : folder
        let page = "\(base)/collections/31337/\(Self.contract)"
        let browser = try await PythonBench.run(
            "gallery_browser.py",
            ["collection": .string(page), "token": .string(page + "/2"), "screenshots": .string(screenshots.path)]
        )
        #expect(browser["cards"] == .number(tokens.count), "one card per published token")
        guard case .array(let images)? = browser["images"] else {
            Issue.record("no images: \(browser)")
            return
        }
        #expect(images.count == tokens.count)
        for image in images {
            guard case .array(let fields) = image, fields.count == 3 else { continue }
            #expect(fields[1] != .number(0) && fields[1] != .number(-1), "image \(fields[0]) did not load")
        }
        #expect(browser["tokenImage"] == [384, 384])
        #expect(browser["signers"] == .number(4))
        #expect(browser["verify"]?.stringValue?.hasPrefix("verified: byte-identical") == true, "\(browser)")

        // SIGTERM: a clean stop.
        server.terminate()
        let stopped = await server.waitForExit(timeout: 20)
        #expect(stopped.exited && !stopped.signaled && server.exitStatus == 0, "kiln serve stops cleanly on SIGTERM")
    }
}

/// One `kiln demo` run for every test that needs published output (it takes half a minute of CPU): each test
/// works on its own copy of the folder.
actor DemoOutput {
    static let shared = DemoOutput()
    // One task, awaited by every caller (an actor re-enters at an await: a plain flag would run it twice).
    private var run: Task<(folder: URL, stdout: String, stderr: String), any Error>?

    private func make() async throws -> (folder: URL, stdout: String, stderr: String) {
        if run == nil {
            run = Task {
                let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                    "kiln-demo-\(UUID().uuidString)"
                )
                try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
                // As the README's first command runs it; a generous node timeout, since on 2 cores with every
                // suite running at once one node answer can take more than the default 20 s. Logging at trace
                // level, for SecretsTests to search.
                let demo = try await KilnProcess.run(
                    ["demo", "--log-format", "human"],
                    in: folder,
                    environment: ["KILN_NODE_TIMEOUT": "120", "KILN_LOG_LEVEL": "trace"]
                )
                guard demo.status == 0 else {
                    throw PythonBench.Failure(description: "kiln demo failed: \(demo.stderr)")
                }
                return (folder, demo.stdout, demo.stderr)
            }
        }
        return try await run!.value
    }

    func stdout() async throws -> String { try await make().stdout }

    /// What the demo wrote to stderr (its logs, at trace level).
    func stderr() async throws -> String { try await make().stderr }

    /// A fresh copy of the demo's folder (kiln-demo/ inside it).
    func copy() async throws -> URL {
        let source = try await make().folder
        let copy = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-demo-copy-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: source, to: copy)
        return copy
    }
}
