import Foundation
import KilnCore
import KilnTesting
import Testing

/// The systemd units scripts/install.sh puts in place: each one's `ExecStart` runs as written (its flags are ones
/// kiln has), with systemd's specifiers and the unit's environment file applied by hand. systemd-analyze verify
/// checks the rest (docs/guides/deploying.md runs it).
struct DeployUnitsTests {
    /// One unit's `ExecStart`, split as systemd splits it (the units quote nothing).
    static func execStart(_ unit: URL) throws -> [String] {
        let text = try String(contentsOf: unit, encoding: .utf8)
        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("ExecStart=") })
        return line.dropFirst("ExecStart=".count).split(separator: " ").map(String.init)
    }

    @Test func everyUnitsCommandRuns() async throws {
        let folder = try temporaryFolder("units")
        let stage = folder.appendingPathComponent("stage").path
        let install = try await KilnProcess.run(
            [
                PythonBench.packageRoot.appendingPathComponent("scripts/install.sh").path, "--binary",
                KilnProcess.executable.path, "--prefix", stage, "--sysconfdir", stage + "/etc",
            ],
            program: URL(fileURLWithPath: "/bin/bash")
        )
        #expect(install.status == 0, "\(install.stderr)")
        let units = URL(fileURLWithPath: stage + "/lib/systemd/system")
        let names = try FileManager.default.contentsOfDirectory(atPath: units.path).sorted()
        #expect(
            names == [
                "kiln-batch.service", "kiln-batch.timer", "kiln-node.service", "kiln-serve.service",
                "kiln-worker@.service",
            ]
        )
        let env = try String(contentsOfFile: stage + "/etc/kiln/kiln.env", encoding: .utf8)
        let mode = try FileManager.default.attributesOfItem(atPath: stage + "/etc/kiln/kiln.env")[.posixPermissions]
        #expect(mode as? Int == 0o600, "kiln.env may hold a password")
        #expect(env.contains("KILN_OUT=/var/lib/kiln/out"))

        // The configuration the units name: a site of `kiln init`, where the sample was.
        let ports = try (0..<5).map { _ in try freeLoopbackPort() }
        let made = try await KilnProcess.run(
            [
                "init", stage + "/etc/kiln", "--force", "--node-ports",
                ports[0..<3].map(String.init).joined(separator: ","),
            ]
        )
        #expect(made.status == 0, "\(made.stderr)")
        // What systemd gives a unit: %d its credentials, %i its instance, %H the host; the environment file's
        // output folder moved into the test's folder (the state folder is /var/lib/kiln on a real machine).
        func command(_ unit: String, instance: String = "", credentials: String = "") throws -> [String] {
            try Self.execStart(units.appendingPathComponent(unit)).map {
                $0.replacingOccurrences(of: "%d", with: credentials)
                    .replacingOccurrences(of: "%i", with: instance)
                    .replacingOccurrences(of: "%H", with: "host")
            }
        }
        let environment = ["KILN_OUT": folder.appendingPathComponent("out").path]

        // The three operators' nodes, each with its key as its credential and the port kiln init gave it (the
        // unit's own ports are the operator's to choose).
        var nodes: [ServiceProcess] = []
        defer { nodes.forEach { $0.stop() } }
        for index in 0..<3 {
            let credentials = folder.appendingPathComponent("credentials-\(index + 1)")
            try FileManager.default.createDirectory(at: credentials, withIntermediateDirectories: true)
            try FileManager.default.copyItem(
                atPath: stage + "/etc/kiln/keys/operator-\(index + 1).key",
                toPath: credentials.appendingPathComponent("operator.key").path
            )
            var node = try command("kiln-node.service", credentials: credentials.path)
            #expect(node.first == stage + "/bin/kiln" && node.contains("--metrics-port"))
            node = node.map { $0 == "7070" ? "\(ports[index])" : $0 == "7071" ? "0" : $0 }
            nodes.append(
                try await ServiceProcess.start(
                    URL(fileURLWithPath: node[0]),
                    Array(node.dropFirst()),
                    name: "kiln-node.service",
                    directory: folder,
                    accept: { $0.hasPrefix("listening on ") || $0.hasPrefix("metrics on ") }
                )
            )
        }
        let batch = try command("kiln-batch.service")
        let ran = try await KilnProcess.run(
            Array(batch.dropFirst()),
            in: folder,
            environment: environment,
            program: URL(fileURLWithPath: batch[0])
        )
        #expect(ran.status == 0 && ran.stdout.contains("\"published\":8"), "\(ran.stdout)\(ran.stderr)")

        let worker = try command("kiln-worker@.service", instance: "\(ports[4])")
        #expect(worker.contains("host-\(ports[4])"), "named after host and instance")
        let workerProcess = try await ServiceProcess.start(
            URL(fileURLWithPath: worker[0]),
            Array(worker.dropFirst()),
            name: "kiln-worker@.service",
            environment: environment,
            directory: folder,
            accept: { $0.contains("metrics-listening") || $0.contains("worker-started") }
        )
        workerProcess.stop()
        var serve = try command("kiln-serve.service")
        serve = serve.map { $0 == "8080" ? "0" : $0 }
        let server = try await ServiceProcess.start(
            URL(fileURLWithPath: serve[0]),
            Array(serve.dropFirst()),
            name: "kiln-serve.service",
            environment: environment,
            directory: folder,
            accept: { $0.contains("listening") }
        )
        server.stop()
    }
}
