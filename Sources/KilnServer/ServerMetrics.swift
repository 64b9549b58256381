// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import Metrics
public import Prometheus
internal import Synchronization

/// What `kiln serve` counts, through swift-metrics into its own Prometheus registry (no global bootstrap, so
/// several servers may live in one process): requests by route and status, and what the gateway sent.
public struct ServerMetrics: Sendable {
    /// The registry `/metrics` writes out.
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory
    /// Each route's request counter (by status) and timer, made once, as the gateway's counters below: looking
    /// them up in the registry by name and labels on every request was a few percent of a small answer's CPU.
    private let requests: RequestSeries

    private let blocksServed: Metrics.Counter
    private let bytesServed: Metrics.Counter
    private let answeredFromMemory: Metrics.Counter

    /// Metrics kept in `registry`.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        factory = PrometheusMetricsFactory(registry: registry)
        requests = RequestSeries(factory: factory)
        blocksServed = Metrics.Counter(label: "kiln_gateway_blocks_served_total", factory: factory)
        bytesServed = Metrics.Counter(label: "kiln_gateway_bytes_served_total", factory: factory)
        answeredFromMemory = Metrics.Counter(label: "kiln_http_answered_from_memory_total", factory: factory)
    }

    /// One answered request: `route` is the route's pattern (`/ipfs`, `/tokens`, `/collections`, …), never the
    /// URL, so the number of series stays bounded.
    func request(route: String, status: Int, seconds: Double) {
        series(route: route, status: status).record(seconds: seconds)
    }

    /// The counter and timer ``request(route:status:seconds:)`` records an answer of `route` with `status` in, for a
    /// caller that records many (``HotPath`` keeps its few for each connection).
    func series(route: String, status: Int) -> RequestSeries.Series {
        let (counter, timer) = requests.series(route: route, status: status)
        return RequestSeries.Series(counter: counter, timer: timer)
    }

    /// One answer of those counted by ``request(route:status:seconds:)`` written from memory on the event loop
    /// (``HotPath``).
    func answerFromMemory() { answeredFromMemory.increment() }

    final class RequestSeries: Sendable {
        /// One route's and status's counter, and the route's timer.
        struct Series: Sendable {
            let counter: Metrics.Counter
            let timer: Metrics.Timer

            /// One answer, `seconds` after its request came.
            func record(seconds: Double) {
                counter.increment()
                timer.recordNanoseconds(Int64(seconds * 1e9))
            }
        }

        private struct Key: Hashable {
            let route: String
            let status: Int
        }
        private let factory: PrometheusMetricsFactory
        private let made = Mutex<[Key: (Metrics.Counter, Metrics.Timer)]>([:])

        init(factory: PrometheusMetricsFactory) { self.factory = factory }

        func series(route: String, status: Int) -> (Metrics.Counter, Metrics.Timer) {
            made.withLock { made in
                let key = Key(route: route, status: status)
                if let series = made[key] { return series }
                let series = (
                    Metrics.Counter(
                        label: "kiln_http_requests_total",
                        dimensions: [("route", route), ("status", String(status))],
                        factory: factory
                    ),
                    Metrics.Timer(
                        label: "kiln_http_request_duration_seconds",
                        dimensions: [("route", route)],
                        factory: factory
                    )
                )
                made[key] = series
                return series
            }
        }
    }

    /// Blocks and bytes the gateway streamed.
    func served(blocks: Int, bytes: Int) {
        blocksServed.increment(by: blocks)
        bytesServed.increment(by: bytes)
    }

    /// Free and total bytes of the file systems that hold each of `paths` (the store's folder, the output folder),
    /// read now: the alerts warn before a batch finds the disk full.
    func recordDisk(_ paths: [(name: String, path: String)]) {
        for (name, path) in paths {
            var info = statvfs()
            guard statvfs(path, &info) == 0 else { continue }
            let unit = Double(info.f_frsize)
            Gauge(label: "kiln_disk_free_bytes", dimensions: [("path", name)], factory: factory)
                .record(Double(info.f_bavail) * unit)
            Gauge(label: "kiln_disk_size_bytes", dimensions: [("path", name)], factory: factory)
                .record(Double(info.f_blocks) * unit)
        }
    }

    /// The registry in Prometheus' text format.
    public func exposition() -> String { registry.emitToString() }
}
