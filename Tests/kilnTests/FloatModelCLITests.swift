import Foundation
import KilnTesting
import Testing

/// The float model `kiln/cppn-float-v1` end to end with real processes: onnxruntime model servers
/// (scripts/models/cppn_onnx.py) on two precisions and two thread settings, each behind a real
/// `kiln node serve --upstream`, asked by `kiln infer` and `kiln batch` over real HTTP.
@Suite(.serialized) struct FloatModelCLITests {
    final class Fleet {
        let folder: URL
        private var services: [ServiceProcess] = []
        private var nodes: [NodeProcess] = []
        /// Node URLs and addresses: four honest operators (fp32 ×1 thread, fp32 ×2 threads without graph
        /// optimisation, fp16 ×1, fp16 ×2), then one running another seed, then one that commits to a wrong output
        /// and signs agreement anyway (`--test-fault false-agree`, in front of the first model server).
        private(set) var operators: [(url: String, address: String)] = []

        init() async throws {
            folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-float-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let settings = [
                ["--precision", "fp32", "--threads", "1"], ["--precision", "fp32", "--threads", "2", "--opt", "none"],
                ["--precision", "fp16", "--threads", "1"], ["--precision", "fp16", "--threads", "2"],
                ["--precision", "fp32", "--seed-salt", "another"],
            ]
            let script = PythonBench.packageRoot.appendingPathComponent("scripts/models/cppn_onnx.py").path
            for (index, setting) in settings.enumerated() {
                let model = try await ServiceProcess.start(
                    PythonBench.python,
                    [script, "serve", "--port", "0"] + setting,
                    name: "cppn_onnx.py serve",
                    timeout: 60,
                    accept: { $0.hasPrefix("listening on ") }
                )
                services.append(model)
                let upstream = String(model.firstLine.split(separator: " ")[2])
                let node = try await NodeProcess(
                    key: "0x" + String(repeating: "0", count: 62) + String(format: "%02x", index + 61),
                    folder: folder,
                    arguments: [
                        "--verifying-contract", BatchBench.registry, "--upstream", upstream, "--upstream-model",
                        "kiln/cppn-float-v1",
                    ]
                )
                nodes.append(node)
                operators.append((node.url, node.address))
            }
            let liar = try await NodeProcess(
                key: "0x" + String(repeating: "0", count: 62) + "70",
                folder: folder,
                arguments: [
                    "--verifying-contract", BatchBench.registry, "--upstream",
                    String(services[0].firstLine.split(separator: " ")[2]), "--upstream-model", "kiln/cppn-float-v1",
                    "--test-fault", "false-agree",
                ]
            )
            nodes.append(liar)
            operators.append((liar.url, liar.address))
            try operatorsFile("operators.yml", [0, 1, 2, 3])
            try operatorsFile("operators-seed.yml", [0, 1, 2, 4])
            try operatorsFile("operators-liar.yml", [0, 1, 2, 5])
        }

        deinit {
            nodes.forEach { $0.stop() }
            services.forEach { $0.stop() }
            try? FileManager.default.removeItem(at: folder)
        }

        /// Stakes 35/30/20/15 for the operators at `indices`.
        func operatorsFile(_ name: String, _ indices: [Int]) throws {
            var yaml = "chainId: 31337\nverifyingContract: \"\(BatchBench.registry)\"\nthresholdBps: 6667\noperators:\n"
            for (index, stake) in zip(indices, [35, 30, 20, 15]) {
                let op = operators[index]
                yaml +=
                    "  - {address: \"\(op.address)\", endpoint: \"\(op.url)\", stake: \"\(stake)000000000000000000\"}\n"
            }
            try Data(yaml.utf8).write(to: folder.appendingPathComponent(name))
        }

        func kiln(_ arguments: [String]) async throws -> KilnProcess.Result {
            try await KilnProcess.run(arguments, in: folder)
        }
    }

    static let template = PythonBench.packageRoot.appendingPathComponent("templates/ember-sigils")

    @Test func fourOperatorsOnTwoPrecisionsAgreeWithinTolerance() async throws {
        let fleet = try await Fleet()
        try Data(#"{"level": 4}"#.utf8).write(to: fleet.folder.appendingPathComponent("state.json"))
        // The same template with the exact rule.
        let exactFolder = fleet.folder.appendingPathComponent("exact-template")
        try FileManager.default.createDirectory(at: exactFolder, withIntermediateDirectories: true)
        let text = try String(contentsOf: Self.template.appendingPathComponent("template.yml"), encoding: .utf8)
        let exactText = text.replacingOccurrences(
            of: "agreement: {max_channel_diff: 64, max_mse: 8.0}",
            with: "agreement: exact"
        )
        #expect(exactText != text)
        try Data(exactText.utf8).write(to: exactFolder.appendingPathComponent("template.yml"))
        func infer(_ template: String, _ operators: String, _ out: String) async throws -> KilnProcess.Result {
            try await fleet.kiln([
                "infer", "--template", template, "--state", "state.json", "--operators", operators, "--token-id", "7",
                "--timeout", "60", "-o", out,
            ])
        }

        // Exact: fp32 and fp16 give different bytes, so no quorum; the report says how far apart they are.
        let exact = try await infer(exactFolder.path, "operators.yml", "exact.png")
        #expect(exact.status == 3, "\(exact.stdout)\(exact.stderr)")
        #expect(exact.stdout.contains("quorum NOT reached") && exact.stdout.contains("the outputs differ: "))
        #expect(exact.stdout.contains("pixels differ"), "\(exact.stdout)")

        // Within the template's tolerance: all four agree on the largest-stake operator's (fp32) output.
        let tolerant = try await infer(Self.template.path, "operators.yml", "out.png")
        #expect(tolerant.status == 0, "\(tolerant.stdout)\(tolerant.stderr)")
        #expect(tolerant.stdout.contains("quorum reached: 4 of 4 operators"), "\(tolerant.stdout)")
        #expect(tolerant.stdout.contains("canonical output ") && tolerant.stdout.contains(fleet.operators[0].address))
        #expect(tolerant.stdout.contains("  canonical\n") && tolerant.stdout.contains("pixels differ"))
        let verified = try await fleet.kiln([
            "verify-attestation", "out.attestation.json", "--output", "out.png", "--outputs", "out.outputs",
            "--operators", "operators.yml",
        ])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("ok    canonical choice recomputed"))

        // A committed output edited by one byte no longer is what its operator signed.
        let outputs = fleet.folder.appendingPathComponent("out.outputs")
        let names = try FileManager.default.contentsOfDirectory(atPath: outputs.path).sorted()
        #expect(names.count == 2, "fp32 and fp16 outputs: \(names)")
        let victim = outputs.appendingPathComponent(names[0])
        var bytes = try Data(contentsOf: victim)
        bytes[bytes.count - 20] ^= 0x01
        try bytes.write(to: victim)
        let tampered = try await fleet.kiln([
            "verify-attestation", "out.attestation.json", "--outputs", "out.outputs", "--operators", "operators.yml",
        ])
        #expect(tampered.status == 1 && tampered.stdout.contains("is not available"), "\(tampered.stdout)")

        // A node running another seed is far outside the tolerance: it refuses to agree; the rest still make quorum.
        let seeded = try await infer(Self.template.path, "operators-seed.yml", "seed.png")
        #expect(seeded.status == 0, "\(seeded.stdout)\(seeded.stderr)")
        let row = seeded.stdout.split(separator: "\n").first { $0.contains(fleet.operators[4].address) } ?? ""
        #expect(row.contains(" refused ") && row.contains("outside pixels: max channel diff 64"), "\(row)")
        #expect(seeded.stdout.contains("quorum reached: 3 of 4 operators holding 85.00 %"))

        // A node that signs agreement although its own output is far off: not counted, and proven against it.
        let lied = try await infer(Self.template.path, "operators-liar.yml", "liar.png")
        #expect(
            lied.status == 0 && lied.stdout.contains("false agreement: \(fleet.operators[5].address)"),
            "\(lied.stdout)"
        )
        let shown = try await fleet.kiln([
            "operators", "--operators", "operators-liar.yml", "--bundle", "liar.attestation.json", "--outputs",
            "liar.outputs",
        ])
        let liarLine = shown.stdout.split(separator: "\n").first { $0.contains(fleet.operators[5].address) } ?? ""
        #expect(liarLine.contains("PROVEN: false agreement in liar.attestation.json"), "\(shown.stdout)\(shown.stderr)")
        let honestLine = shown.stdout.split(separator: "\n").first { $0.contains(fleet.operators[0].address) } ?? ""
        #expect(honestLine.contains("no misbehaviour proven"))
    }

    @Test func aBatchWithTheFloatModelPublishesAndVerifiesByteForByte() async throws {
        let fleet = try await Fleet()
        let site = Site(dir: fleet.folder.appendingPathComponent("site"), bench: fleet.folder)
        try FileManager.default.createDirectory(at: site.dir, withIntermediateDirectories: true)
        try await site.write(
            "kiln.yml",
            """
            chainId: 31337
            store: data/kiln.sqlite
            out: out
            events: {file: events.jsonl}
            contracts:
              - {address: "\(BatchBench.contractA)", template: \(Self.template.path)}
            operators: {file: ../operators.yml}
            concurrency: 2
            nodeTimeout: 60

            """
        )
        let logs = try await BatchBench.exampleLogs("events-1.jsonl", tokens: [1, 2])
        try await site.write("events.jsonl", logs.joined(separator: "\n") + "\n")
        let run = try await site.kiln()
        #expect(run.status == 0 && run.summary?["published"] as? Int == 2, "\(run.transcript)")
        let quorum = run.jobs.first?["quorum"] as? String ?? ""
        #expect(quorum.contains("agreed within pixels: max channel diff 64, max MSE 8.000"), "\(quorum)")

        // From the CAR and the logs alone: the committed outputs travel in the batch's provenance.
        let metadata = String((run.jobs.first?["metadata"] as? String ?? "").dropFirst("ipfs://".count))
        let verified = try await KilnProcess.run(
            [
                "verify", metadata, "--car", site.out.appendingPathComponent("batch-1.car").path, "--events",
                site.dir.appendingPathComponent("events.jsonl").path,
            ],
            in: fleet.folder
        )
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
        #expect(verified.stdout.contains("agreement policy: pixels: max channel diff 64, max MSE 8.000"))
        #expect(verified.stdout.contains("canonical choice recomputed"))
        #expect(verified.stdout.hasSuffix("verified: byte-identical\n"), "\(verified.stdout)")
    }
}
