// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import Hummingbird
import KilnContent
import KilnCore
import KilnPipeline
import KilnServer
import KilnStore
import KilnTemplates
import Logging

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve what the batches published: IPFS gateway, metadata API, gallery, health and metrics.",
        discussion: """
            Read-only, from kiln.yml's store and blockstore (OUT/blocks; with a PostgreSQL store, a block not there \
            yet is read from the store when first asked for, and kept). Routes: /ipfs/{cid}[/{path}] (trustless gateway: \
            ?format=raw|car, dag-scope, entity-bytes; files with Range, directory listings), \
            /tokens/{chainId}/{contract}/{id}[/image|/history] (metadata API), / and /collections/… (gallery), \
            /health, /metrics (Prometheus text, with the last `kiln batch` run's metrics from metrics.prom next to OUT). \
            Binds 127.0.0.1 unless --bind says otherwise; stops cleanly on SIGTERM or SIGINT. Prints \
            'listening on http://HOST:PORT' when ready.
            """
    )

    @OptionGroup var options: PipelineOptions

    @Option(help: "The address to listen on (0.0.0.0 to expose it; put TLS in front: docs/guides/running-kiln.md).")
    var bind = "127.0.0.1"

    @Option(help: "The port (0: any free port).")
    var port = 8080

    @Option(help: "The most bytes one gateway answer streams (a larger CAR is cut off there).")
    var maxAnswerBytes = 1 << 30

    func run() async throws {
        options.output.bootstrap()
        let configuration = try options.configuration()
        let store = try await configuration.openStore(longRunning: true)
        let blockstore = try configuration.openBlockstore()
        var site = Site(configuration: configuration, store: store, blockstore: blockstore, metrics: ServerMetrics())
        site.maxAnswerBytes = maxAnswerBytes
        site.batchMetricsFile = configuration.metricsFile
        site.baseURI = configuration.baseURI
        for contract in configuration.contracts {
            site.names[contract.address] = (try? loadTemplate(contract.template).name) ?? contract.address.checksummed
        }
        let logger = Logger(label: "kiln.serve")
        let host = bind
        let contracts = configuration.contracts
        let chainId = configuration.chainId
        let baseURI = configuration.baseURI
        let app = KilnServer.application(site: site, host: host, port: port, logger: logger) { port in
            let console = Console(format: .human)
            let shown = host == "0.0.0.0" ? "127.0.0.1" : host
            console.say("listening on http://\(shown):\(port)", event: "listening")
            console.say("gallery:  http://\(shown):\(port)/", event: "gallery")
            for contract in contracts {
                console.say(
                    "metadata: http://\(shown):\(port)/tokens/\(chainId)/\(contract.address.checksummed)/{id}"
                        + (baseURI.map { "  (baseURI \($0)tokens/\(chainId)/\(contract.address.checksummed)/)" } ?? ""),
                    event: "metadata"
                )
            }
        }
        try await app.runService()
    }
}
