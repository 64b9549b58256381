// Kiln — Apache-2.0. See LICENSE.

public import Hummingbird
public import Logging
internal import KilnCore
public import Prometheus

/// `GET /metrics` alone, on a port of its own: `kiln worker --metrics-port` (a registry) and `kiln node serve
/// --metrics-port` (the node's metrics, its load read when scraped), in Prometheus' text format.
public enum MetricsEndpoint {
    /// The application serving `registry`; `onListening` gets the bound port (useful with port 0).
    public static func application(
        registry: PrometheusCollectorRegistry,
        host: String,
        port: Int,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        application(
            exposition: { registry.emitToString() },
            host: host,
            port: port,
            logger: logger,
            onListening: onListening
        )
    }

    /// The application serving what `exposition` writes at each scrape.
    public static func application(
        exposition: @escaping @Sendable () async -> String,
        host: String,
        port: Int,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router()
        router.get("/metrics") { _, _ in
            var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: await exposition())))
            response.headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return response
        }
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "kiln/\(KilnVersion.current)"),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }
}
