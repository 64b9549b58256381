import Foundation
import KilnTesting
import Testing

struct InferCLITests {
    @Test func inferWithFourNodesThenVerifyOffline() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-infer-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let contract = "0x00000000000000000000000000000000000000C0"
        var nodes: [NodeProcess] = []
        defer { nodes.forEach { $0.stop() } }
        var yaml = "chainId: 31337\nverifyingContract: \"\(contract)\"\noperators:\n"
        for (index, stake) in [40, 30, 20, 10].enumerated() {
            let key = "0x" + String(repeating: "0", count: 62) + String(format: "%02x", index + 11)
            let fault = index == 3 ? ["--test-fault", "wrong-output"] : []
            let node = try await NodeProcess(
                key: key,
                folder: folder,
                arguments: ["--verifying-contract", contract] + fault
            )
            nodes.append(node)
            yaml +=
                "  - {address: \"\(node.address)\", endpoint: \"\(node.url)\", stake: \"\(stake)000000000000000000\"}\n"
        }
        try Data(yaml.utf8).write(to: folder.appendingPathComponent("operators.yml"))
        try Data(#"{"level": 4}"#.utf8).write(to: folder.appendingPathComponent("state.json"))
        let template = PythonBench.packageRoot.appendingPathComponent("templates/forge-knights").path
        let infer = try await KilnProcess.run(
            [
                "infer", "--template", template, "--state", "state.json", "--operators", "operators.yml", "--token-id",
                "5", "-o", "out.png",
            ],
            in: folder
        )
        #expect(infer.status == 0, "\(infer.stdout)\n\(infer.stderr)")
        #expect(infer.stdout.contains("quorum reached: "))
        #expect(infer.stdout.contains("out.attestation.json: attestation bundle written"))
        #expect(infer.stdout.contains("out.png: accepted output written"))

        let verified = try await KilnProcess.run(
            ["verify-attestation", "out.attestation.json", "--output", "out.png", "--operators", "operators.yml"],
            in: folder
        )
        #expect(verified.status == 0, "\(verified.stdout)")
        #expect(verified.stdout.contains("ok    the output file is the accepted output"))
        #expect(verified.stdout.contains("ok    stakes: the stake table matches operators.yml at block 0"))
        #expect(verified.stdout.hasSuffix("out.attestation.json: verified\n"))

        // Without a registry the stakes are the bundle's own claim: exit 1 unless the user accepts that.
        let unchecked = try await KilnProcess.run(["verify-attestation", "out.attestation.json"], in: folder)
        #expect(unchecked.status == 1)
        #expect(unchecked.stdout.contains("FAIL  stakes: the stake table is the bundle's own claim"))
        let trusted = try await KilnProcess.run(
            ["verify-attestation", "out.attestation.json", "--trust-bundle-stakes"],
            in: folder
        )
        #expect(trusted.status == 0, "\(trusted.stdout)")

        // A stake table edited by hand (one operator's stake raised) verifies on its own, not against the registry.
        let original = try String(contentsOf: folder.appendingPathComponent("out.attestation.json"), encoding: .utf8)
        let inflated = original.replacingOccurrences(
            of: "\"stake\":\"10000000000000000000\"",
            with: "\"stake\":\"90000000000000000000\""
        )
        #expect(inflated != original)
        try Data(inflated.utf8).write(to: folder.appendingPathComponent("inflated.json"))
        let edited = try await KilnProcess.run(
            ["verify-attestation", "inflated.json", "--operators", "operators.yml"],
            in: folder
        )
        #expect(edited.status == 1)
        #expect(edited.stdout.contains("FAIL  stakes: the bundle's stake table differs from operators.yml at block 0"))

        // The accepted picture renders into the token's image.
        let render = try await KilnProcess.run(
            [
                "render", "--template", template, "--state", "state.json", "--token-id", "5", "--inference", "out.png",
                "-o", "token.png",
            ],
            in: folder
        )
        #expect(render.status == 0 && !render.stdout.contains("placeholder"))

        // A tampered bundle fails, with exit status 1.
        var text = try String(contentsOf: folder.appendingPathComponent("out.attestation.json"), encoding: .utf8)
        text = text.replacingOccurrences(of: "\"thresholdBps\":6667", with: "\"thresholdBps\":9900")
        try Data(text.utf8).write(to: folder.appendingPathComponent("tampered.json"))
        let tampered = try await KilnProcess.run(
            ["verify-attestation", "tampered.json", "--trust-bundle-stakes"],
            in: folder
        )
        #expect(tampered.status == 1)
        #expect(tampered.stdout.contains("FAIL  no quorum"))

        // Operators: stake and liveness.
        let operators = try await KilnProcess.run(["operators", "--operators", "operators.yml"], in: folder)
        #expect(operators.stdout.contains("40.00 %") && operators.stdout.contains("ok (operator "))
    }

    @Test func nodeRefusesAWorldReadableKey() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-key-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let key = folder.appendingPathComponent("k").path
        _ = FileManager.default.createFile(
            atPath: key,
            contents: Data("0x01".utf8),
            attributes: [.posixPermissions: 0o644]
        )
        let result = try await KilnProcess.run(["node", "serve", "--key", key, "--port", "0"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("Refusing key file '\(key)': mode 644 lets others read it"))
        let none = try await KilnProcess.run(["node", "serve", "--port", "0"])
        #expect(none.status == 64 && none.stderr.contains("Give the operator key with --key FILE or KILN_NODE_KEY."))
    }
}
