import Foundation
import KilnCore
import KilnTesting
import Testing

/// Metrics from every process, as an operator's Prometheus sees them: a real Prometheus server (Debian's) scrapes
/// `kiln serve`, the nodes and a worker during a batch, evaluates deploy/prometheus's alert rules, and fires one
/// when a node is killed; the alert rules and the Grafana dashboard name only metrics Kiln emits.
struct MonitoringTests {
    static let deploy = PythonBench.packageRoot.appendingPathComponent("deploy")

    /// Every `kiln_…` name in `text`, histogram suffixes removed.
    static func names(in text: String) -> Set<String> {
        let pattern = try! NSRegularExpression(pattern: #"\bkiln_[a-z0-9_]+"#)
        let range = NSRange(text.startIndex..., in: text)
        return Set(
            pattern.matches(in: text, range: range).compactMap { Range($0.range, in: text).map { String(text[$0]) } }
                .map { name in
                    for suffix in ["_bucket", "_sum", "_count"] where name.hasSuffix(suffix) {
                        return String(name.dropLast(suffix.count))
                    }
                    return name
                }
        )
    }

    /// The names Kiln's code gives its metrics (`label: "kiln_…"` in Sources/).
    static func emittedNames() throws -> Set<String> {
        let sources = PythonBench.packageRoot.appendingPathComponent("Sources")
        var names: Set<String> = []
        let pattern = try NSRegularExpression(pattern: #"label: "(kiln_[a-z0-9_]+)""#)
        for case let file as URL in FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!
        where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
                if let range = Range(match.range(at: 1), in: text) { names.insert(String(text[range])) }
            }
        }
        return names
    }

    /// The PromQL of the alert rules and of the dashboard's panels.
    static func queries() throws -> [String] {
        let rules = try String(contentsOf: deploy.appendingPathComponent("prometheus/kiln-alerts.yml"), encoding: .utf8)
        let dashboard = try JSONValue.parse(
            bytes: Array(try Data(contentsOf: deploy.appendingPathComponent("grafana/kiln-dashboard.json")))
        )
        var queries: [String] = []
        guard case .array(let panels)? = dashboard["panels"] else { return [] }
        for panel in panels {
            guard case .array(let targets)? = panel["targets"] else { continue }
            queries += targets.compactMap { $0["expr"]?.stringValue }
        }
        // Each rule's expr: a one-line value, or a `|` block of the lines indented under it.
        var lines = rules.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)[...]
        while let line = lines.popFirst() {
            guard let range = line.range(of: "expr: ") else { continue }
            let value = String(line[range.upperBound...])
            if value != "|" {
                queries.append(value)
                continue
            }
            var block: [String] = []
            while let next = lines.first, next.hasPrefix(String(repeating: " ", count: 10)) {
                block.append(next.trimmingCharacters(in: .whitespaces))
                lines.removeFirst()
            }
            queries.append(block.joined(separator: " "))
        }
        return queries
    }

    @Test func alertsAndTheDashboardNameOnlyMetricsKilnEmits() throws {
        let emitted = try Self.emittedNames()
        #expect(emitted.count > 20, "\(emitted.sorted())")
        let queries = try Self.queries()
        #expect(queries.count >= 10 + 17, "every rule and panel was read: \(queries.count)")
        for query in queries {
            for name in Self.names(in: query) {
                #expect(emitted.contains(name), "\(name) in '\(query)' is not a metric Kiln emits")
            }
        }
    }

    @Test func prometheusScrapesEveryProcessAndAlertsWhenANodeDies() async throws {
        let folder = try temporaryFolder("monitoring")
        let ports = try (0..<7).map { _ in try freeLoopbackPort() }
        let (nodePorts, nodeMetrics, servePort, workerMetrics, prometheusPort) = (
            Array(ports[0..<3]), ports[3], ports[4], ports[5], ports[6]
        )
        let made = try await KilnProcess.run(
            ["init", "site", "--node-ports", nodePorts.map(String.init).joined(separator: ",")],
            in: folder
        )
        #expect(made.status == 0, "\(made.stderr)")
        let config = ["--config", "site/kiln.yml"]
        var processes: [ServiceProcess] = []
        defer { processes.forEach { $0.stop() } }
        for (index, port) in nodePorts.enumerated() {
            // The first node serves its metrics on a port of their own; the others on the node's port.
            let metrics = index == 0 ? ["--metrics-port", "\(nodeMetrics)"] : []
            let node = try await ServiceProcess.start(
                KilnProcess.executable,
                ["node", "serve", "--key", "site/keys/operator-\(index + 1).key", "--port", "\(port)"] + metrics,
                name: "node",
                directory: folder,
                accept: { $0.hasPrefix("listening on ") || $0.hasPrefix("metrics on ") }
            )
            processes.append(node)
            // The first node's second port bound too (a node that could not bind one exits).
            if index == 0 {
                #expect(await node.waitForOutput("listening on "), "node 1: \(node.output)")
                #expect(await node.waitForOutput("metrics on "), "node 1: \(node.output)")
            }
        }
        processes.append(
            try await ServiceProcess.start(
                KilnProcess.executable,
                ["worker", "--name", "w1", "--metrics-port", "\(workerMetrics)", "--log-format", "json"] + config,
                name: "kiln worker",
                directory: folder,
                accept: { $0.contains("worker-started") || $0.contains("metrics-listening") }
            )
        )
        processes.append(
            try await ServiceProcess.start(
                KilnProcess.executable,
                ["serve", "--port", "\(servePort)"] + config,
                name: "kiln serve",
                directory: folder,
                accept: { $0.hasPrefix("listening on ") }
            )
        )

        // Prometheus with the shipped rules, every `for:` cut to 3 s and every interval to 1 s, so a test sees
        // in seconds what an operator sees in minutes (3 s: one scrape that timed out under the parallel suite's
        // load is no alert, as an operator's minutes mean).
        let rules = try String(
            contentsOf: Self.deploy.appendingPathComponent("prometheus/kiln-alerts.yml"),
            encoding: .utf8
        ).replacingOccurrences(of: #"for: \d+m"#, with: "for: 3s", options: .regularExpression)
        try rules.write(to: folder.appendingPathComponent("rules.yml"), atomically: true, encoding: .utf8)
        let targets = (nodePorts.dropFirst().map { "127.0.0.1:\($0)" } + ["127.0.0.1:\(nodeMetrics)"])
            .map { "\"\($0)\"" }.joined(separator: ", ")
        try """
        global: {scrape_interval: 1s, evaluation_interval: 1s}
        rule_files: [rules.yml]
        scrape_configs:
          - {job_name: kiln-serve, static_configs: [{targets: ["127.0.0.1:\(servePort)"]}]}
          - {job_name: kiln-worker, static_configs: [{targets: ["127.0.0.1:\(workerMetrics)"]}]}
          - {job_name: kiln-node, static_configs: [{targets: [\(targets)]}]}
        """.write(to: folder.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
        processes.append(
            try await ServiceProcess.start(
                URL(fileURLWithPath: "/bin/sh"),
                [
                    "-c",
                    "echo started; exec /usr/bin/prometheus --config.file=prometheus.yml --storage.tsdb.path=tsdb "
                        + "--web.listen-address=127.0.0.1:\(prometheusPort) 2>prometheus.log",
                ],
                name: "prometheus",
                directory: folder
            )
        )
        let api = "http://127.0.0.1:\(prometheusPort)"
        func get(_ path: String) async throws -> JSONValue? {
            let result = try await KilnProcess.run(
                ["-sf", "--max-time", "10", api + path],
                program: URL(fileURLWithPath: "/usr/bin/curl")
            )
            return result.status == 0 ? try? JSONValue.parse(bytes: Array(result.stdout.utf8)) : nil
        }
        func query(_ promql: String) async throws -> JSONValue? {
            let encoded = promql.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? promql
            return try await get("/api/v1/query?query=\(encoded)")
        }
        func count(_ promql: String) async throws -> Int {
            guard case .array(let result)? = try await query(promql)?["data"]?["result"] else { return 0 }
            return result.count
        }

        // The batch: the worker does every job (the coordinator only opens and closes it).
        let batch = try await KilnProcess.run(["batch", "--no-work", "--log-format", "json"] + config, in: folder)
        #expect(batch.status == 0 && batch.stdout.contains("\"publishedByWorkers\":8"), "\(batch.stdout)")

        // Every process's series, as Prometheus holds them (a few scrapes after the batch).
        let expected = [
            #"kiln_jobs_total{job="kiln-worker",outcome="published"}"#,
            #"kiln_quorum_rounds_total{job="kiln-worker"}"#,
            #"kiln_operator_request_seconds_bucket{job="kiln-worker"}"#,
            #"kiln_worker_last_heartbeat_timestamp_seconds{job="kiln-worker"}"#,
            #"kiln_node_jobs_total{job="kiln-node",model="kiln/cppn-v1",outcome="ok"}"#,
            #"kiln_node_requests_total{job="kiln-node",route="/v1/jobs",status="200"}"#,
            #"kiln_node_jobs_queued{job="kiln-node"}"#, #"kiln_node_commits_kept{job="kiln-node"}"#,
            #"kiln_http_requests_total{job="kiln-serve"}"#, #"kiln_disk_free_bytes{job="kiln-serve",path="out"}"#,
            #"kiln_batch_last_success_timestamp_seconds{job="kiln-serve"}"#,
        ]
        var missing = expected
        for _ in 0..<60 where !missing.isEmpty {
            try await Task.sleep(for: .milliseconds(500))
            var still: [String] = []
            for series in missing where try await count(series) == 0 { still.append(series) }
            missing = still
        }
        #expect(missing.isEmpty, "series Prometheus did not get: \(missing)")
        var up = 0
        for _ in 0..<20 where up != 3 {
            up = try await count(#"up{job="kiln-node"} == 1"#)
            if up != 3 { try await Task.sleep(for: .milliseconds(500)) }
        }
        #expect(up == 3, "nodes up")

        // Every rule's and panel's query parses and runs.
        for promql in try Self.queries() {
            let answer = try await query(promql)
            #expect(answer?["status"]?.stringValue == "success", "'\(promql)': \(String(describing: answer))")
        }

        // A node killed: KilnNodeDown fires for it, and for no other.
        let killed = processes[1]
        killed.stop()
        var firing: [String] = []
        for _ in 0..<60 where !firing.contains("127.0.0.1:\(nodePorts[1])") {
            try await Task.sleep(for: .milliseconds(500))
            guard case .array(let alerts)? = try await get("/api/v1/alerts")?["data"]?["alerts"] else { continue }
            firing = alerts.filter {
                $0["labels"]?["alertname"]?.stringValue == "KilnNodeDown" && $0["state"]?.stringValue == "firing"
            }.compactMap { $0["labels"]?["instance"]?.stringValue }
        }
        #expect(firing == ["127.0.0.1:\(nodePorts[1])"], "KilnNodeDown firing for \(firing)")
    }
}
