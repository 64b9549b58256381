import Foundation
import KilnCore
import KilnTesting
import Testing

/// `kiln status` as a Nagios-style check: 0 when nothing needs a person, 1 WARNING, 2 CRITICAL, with the last runs
/// and the chain's lag shown.
struct StatusCheckTests {
    @Test func exitsNonZeroWhenSomethingNeedsAPerson() async throws {
        let folder = try temporaryFolder("status-check")
        let ports = try (0..<3).map { _ in try freeLoopbackPort() }
        let made = try await KilnProcess.run(
            ["init", "site", "--node-ports", ports.map(String.init).joined(separator: ",")],
            in: folder
        )
        #expect(made.status == 0, "\(made.stderr)")
        let config = ["--config", "site/kiln.yml"]

        // Before any run: OK unless a maximum age is asked for.
        let fresh = try await KilnProcess.run(["status"] + config, in: folder)
        #expect(fresh.status == 0 && fresh.stdout.contains("runs      none recorded"), "\(fresh.stdout)")
        let never = try await KilnProcess.run(["status", "--max-run-age", "3600"] + config, in: folder)
        #expect(never.status == 2 && never.stdout.contains("CRITICAL  no-recent-run: no batch run has ended cleanly"))

        var nodes: [ServiceProcess] = []
        for (index, port) in ports.enumerated() {
            nodes.append(
                try await ServiceProcess.start(
                    KilnProcess.executable,
                    ["node", "serve", "--key", "site/keys/operator-\(index + 1).key", "--port", "\(port)"],
                    name: "node",
                    directory: folder,
                    accept: { $0.hasPrefix("listening on ") }
                )
            )
        }
        let batch = try await KilnProcess.run(["batch"] + config, in: folder)
        nodes.forEach { $0.stop() }
        #expect(batch.status == 0, "\(batch.stdout)\(batch.stderr)")

        let ok = try await KilnProcess.run(["status", "--max-run-age", "3600"] + config, in: folder)
        #expect(ok.status == 0, "\(ok.stdout)")
        #expect(ok.stdout.contains("runs      last: batch 1, exit 0, "), "\(ok.stdout)")
        #expect(ok.stdout.contains("health    OK"))
        let json = try await KilnProcess.run(["status", "--log-format", "json"] + config, in: folder)
        let report = try JSONValue.parse(bytes: Array(json.stdout.utf8))
        #expect(report["health"]?["level"]?.stringValue == "OK")
        #expect(report["lastCleanRun"]?["published"]?.integerValue.map { Int($0) } == 8)

        // A run long enough ago: CRITICAL, by name.
        try await Task.sleep(for: .seconds(1.2))
        let stale = try await KilnProcess.run(
            ["status", "--max-run-age", "1", "--log-format", "json"] + config,
            in: folder
        )
        #expect(stale.status == 2)
        let staleReport = try JSONValue.parse(bytes: Array(stale.stdout.utf8))
        #expect(staleReport["health"]?["level"]?.stringValue == "CRITICAL")
        guard case .array(let findings)? = staleReport["health"]?["findings"] else {
            Issue.record("no findings: \(stale.stdout)")
            return
        }
        #expect(findings.map { $0["check"]?.stringValue } == ["no-recent-run"])

        // An events node that cannot be reached is CRITICAL; one far ahead of the store is too, with the lag shown.
        let closed = try freeLoopbackPort()
        let unreachable = try await KilnProcess.run(
            ["status"] + config,
            in: folder,
            environment: ["KILN_RPC": "http://127.0.0.1:\(closed)"]
        )
        #expect(unreachable.status == 2 && unreachable.stdout.contains("CRITICAL  chain-unreachable: "))
        let chain = try await DevChain(folder: folder)
        defer { chain.stop() }
        // The site's events file left the store's cursor at block 102: the chain is mined past it.
        _ = try await chain.rpc("evm_mine", ["0x70"])
        let behind = try await KilnProcess.run(
            ["status", "--max-chain-lag", "2"] + config,
            in: folder,
            environment: ["KILN_RPC": chain.url, "KILN_CONFIRMATIONS": "1"]
        )
        #expect(behind.status == 2, "\(behind.stdout)\(behind.stderr)")
        #expect(behind.stdout.contains("chain     head 112, read to 102, 9 block(s) behind"), "\(behind.stdout)")
        #expect(behind.stdout.contains("CRITICAL  chain-lag: "))
        let within = try await KilnProcess.run(
            ["status", "--max-chain-lag", "9"] + config,
            in: folder,
            environment: ["KILN_RPC": chain.url, "KILN_CONFIRMATIONS": "1"]
        )
        #expect(within.status == 0, "\(within.stdout)")

        // A store that cannot be read: CRITICAL, exit 2.
        let broken = try await KilnProcess.run(
            ["status"] + config,
            in: folder,
            environment: ["KILN_STORE": folder.appendingPathComponent("site/kiln.yml").path]
        )
        #expect(broken.status == 2 && broken.stdout.contains("health    CRITICAL  the store cannot be read"))
    }
}
