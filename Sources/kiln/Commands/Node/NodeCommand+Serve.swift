// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import ServiceLifecycle
import UnixSignals
import Hummingbird
import KilnCore
import KilnCrypto
import KilnInference
import KilnServer
import Logging

extension NodeCommand {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Serve POST /v1/jobs, POST /v1/agreements, GET /v1/health, GET /v1/models on loopback, signing every result; also an Infernet compute container (POST /service_output).",
            discussion: """
                The operator key comes from --key FILE (hex, mode 0600; a key others can read is refused) or the \
                KILN_NODE_KEY environment variable. It is never logged. Prints 'listening on http://HOST:PORT' when ready.

                What it keeps: every output it commits to (POST /v1/jobs) stays in memory with its job id, input hash \
                and the input's agreement policy, so that POST /v1/agreements can check a canonical output against \
                it: at most --keep-commits outputs and 256 MiB, each for --keep-commits-for seconds (the oldest go \
                first). A job asked again replaces its commit. Nothing is written to disk; a restart forgets them \
                (the next round asks again).

                The same node is a Ritual Infernet compute container: POST /service_output, GET /service-resources, \
                GET /. With --infernet-bearer-file FILE (mode 0600) or KILN_INFERNET_BEARER, /service_output needs \
                'Authorization: Bearer <token>' (the container's 'bearer' in the Infernet node's config.json).

                Facing the internet: it listens on 127.0.0.1 unless --bind (or --host) says otherwise; with \
                --auth-token-file FILE (mode 0600) or KILN_NODE_AUTH_TOKEN, POST /v1/jobs and /v1/agreements need \
                'Authorization: Bearer <token>' (the coordinator's operators.yml 'token'); put TLS in front (docs/guides/operator-node.md). \
                Each client IP address gets --rate-limit requests/s (bursts of --rate-burst; more get 429 with \
                Retry-After) and --max-connections-per-ip open connections (more are closed); a request must arrive \
                whole within --request-timeout seconds (else 408 and the connection is closed); a connection silent \
                for 60 s is closed.
                """
        )

        @Option(help: "The operator key file (hex, mode 0600).")
        var key: String?

        @Option(
            name: [.customLong("bind"), .customLong("host")],
            help: "The address to listen on (0.0.0.0: every interface)."
        )
        var host = "127.0.0.1"

        @Option(
            help: "A file (mode 0600) with the bearer token coordinators must send to POST /v1/jobs and /v1/agreements."
        )
        var authTokenFile: String?

        @Option(help: "The port (0 picks a free one).")
        var port = 8101

        @Option(help: "The EIP-712 domain's chain id.")
        var chainId: UInt64 = 31337

        @Option(help: "The EIP-712 domain's verifying contract (the stake registry).")
        var verifyingContract = "0x0000000000000000000000000000000000000000"

        @Option(
            help: "Forward jobs to this model server instead of running the built-in model (POST JSON → image bytes)."
        )
        var upstream: String?

        @Option(help: "The model id that --upstream serves.")
        var upstreamModel = "upstream/model"

        @Option(help: "Jobs run at once.")
        var maxConcurrent = max(1, ProcessInfo.processInfo.activeProcessorCount)

        @Option(help: "Jobs that may wait for a slot (more get HTTP 429).")
        var maxQueued = 16

        @Option(help: "Requests per second per client IP address, on average (more get HTTP 429).")
        var rateLimit: Double = 50

        @Option(help: "Requests a client IP address may send at once before --rate-limit applies.")
        var rateBurst = 100

        @Option(help: "Open connections per client IP address (more are closed at once).")
        var maxConnectionsPerIp = 64

        @Option(help: "Seconds a request (head and body) may take to arrive (then HTTP 408).")
        var requestTimeout: Double = 10

        @Option(help: "Seconds a job may run (then HTTP 504).")
        var jobTimeout = 30

        @Option(help: "Committed outputs kept for the agreement phase (the oldest go first; 256 MiB at most).")
        var keepCommits = 4096

        @Option(help: "Seconds a committed output is kept for the agreement phase.")
        var keepCommitsFor = 900

        @Option(help: "A file (mode 0600) with the bearer token Infernet must send to POST /service_output.")
        var infernetBearerFile: String?

        @Option(
            help:
                "Serve GET /metrics on this port (on --bind's address) instead of the node's own (0 picks a free one)."
        )
        var metricsPort: Int?

        @Option(help: "FOR TESTS ONLY: misbehave.")
        var testFault: TestFault?

        @Option(help: "For --test-fault slow: seconds to wait before answering.")
        var slowSeconds = 10

        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard rateLimit > 0, rateBurst >= 1 else {
                throw ValidationError("--rate-limit and --rate-burst must be positive")
            }
            guard maxConnectionsPerIp >= 1 else { throw ValidationError("--max-connections-per-ip must be at least 1") }
            guard requestTimeout > 0 else { throw ValidationError("--request-timeout must be positive") }
        }

        func run() async throws {
            output.bootstrap()
            let operatorKey: PrivateKey
            if let key {
                operatorKey = try PrivateKey(contentsOfFile: key)
            } else if let text = ProcessInfo.processInfo.environment["KILN_NODE_KEY"] {
                operatorKey = try PrivateKey(hex: text)
            } else {
                throw ValidationError("Give the operator key with --key FILE or KILN_NODE_KEY.")
            }
            let contract: Address
            do { contract = try Address(hex: verifyingContract) } catch { throw ValidationError(error.message) }
            var models: [any InferenceModel] = [CPPNModel()]
            if let upstream {
                guard let url = HTTPURL.normalized(upstream) else {
                    throw ValidationError("--upstream must be an http:// or https:// URL")
                }
                models = [UpstreamModel(id: upstreamModel, url: url)]
            }
            var configuration = NodeConfiguration(
                key: operatorKey,
                domain: .kiln(chainId: chainId, verifyingContract: contract),
                models: models
            )
            configuration.maxConcurrentJobs = maxConcurrent
            configuration.maxQueuedJobs = maxQueued
            configuration.limits.requestsPerSecond = rateLimit
            configuration.limits.burst = rateBurst
            configuration.limits.connectionsPerIP = maxConnectionsPerIp
            configuration.limits.requestTimeout = .milliseconds(Int64(requestTimeout * 1000))
            configuration.jobTimeout = .seconds(jobTimeout)
            configuration.maxKeptCommits = keepCommits
            configuration.keepCommitsFor = .seconds(keepCommitsFor)
            configuration.fault = testFault
            if let infernetBearerFile {
                var bytes = try SecretFile.read(infernetBearerFile, what: "bearer token file", maxBytes: 4096)
                configuration.infernetBearer = String(decoding: bytes, as: UTF8.self)
                    .trimmingCharacters(in: .whitespacesAndNewlines)
                for index in bytes.indices { bytes[index] = 0 }
            } else if let token = ProcessInfo.processInfo.environment["KILN_INFERNET_BEARER"] {
                configuration.infernetBearer = token
            }
            if configuration.infernetBearer?.isEmpty == true {
                throw ValidationError("The Infernet bearer token is empty.")
            }
            if let authTokenFile {
                let reference = SecretReference.file(authTokenFile)
                configuration.authToken = try reference.value()
            } else if ProcessInfo.processInfo.environment["KILN_NODE_AUTH_TOKEN"] != nil {
                configuration.authToken = try SecretReference.environment("KILN_NODE_AUTH_TOKEN").value()
            }
            configuration.slowDelay = .seconds(slowSeconds)
            var logger = Logger(label: "kiln.node")
            logger[metadataKey: "operator"] = "\(operatorKey.address.checksummed)"
            if let fault = configuration.fault { logger.warning("TEST FAULT ENABLED: \(fault.rawValue)") }
            let node = InferenceNode(configuration: configuration, logger: logger)
            let host = self.host
            let metrics = NodeMetrics()
            let app = NodeServer.application(
                node: node,
                host: host,
                port: port,
                metrics: metrics,
                metricsOnOwnPort: metricsPort != nil,
                logger: logger
            ) { port in
                // stdout is a pipe under tests: Console flushes, so "listening" is seen now.
                Console(format: .human).say(
                    "listening on http://\(host):\(port) as operator \(operatorKey.address.checksummed)",
                    event: "listening"
                )
            }
            guard let metricsPort else {
                try await app.runService()
                return
            }
            let metricsApp = MetricsEndpoint.application(
                exposition: { await metrics.exposition(node: node) },
                host: host,
                port: metricsPort,
                logger: logger
            ) { port in
                Console(format: .human).say("metrics on http://\(host):\(port)/metrics", event: "metrics-listening")
            }
            let group = ServiceGroup(
                configuration: ServiceGroupConfiguration(
                    services: [.init(service: app), .init(service: metricsApp)],
                    gracefulShutdownSignals: [.sigterm, .sigint],
                    logger: logger
                )
            )
            try await group.run()
        }
    }
}
