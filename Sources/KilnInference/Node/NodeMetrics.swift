// Kiln — Apache-2.0. See LICENSE.

internal import Metrics
public import Prometheus

/// What `kiln node serve` counts, through swift-metrics into its own Prometheus registry (no global bootstrap:
/// several nodes may live in one process, as in the tests): requests by route and status (429s, 401s and 413s
/// among them), 408s, jobs by model and outcome with their duration, agreements by outcome, and, read when
/// scraped, the jobs running and queued and the commits kept for the agreement phase.
public struct NodeMetrics: Sendable {
    /// The registry `/metrics` writes out.
    public let registry: PrometheusCollectorRegistry
    private let factory: PrometheusMetricsFactory

    /// Metrics kept in `registry`.
    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        factory = PrometheusMetricsFactory(registry: registry)
    }

    /// One answered request; `route` is the route's pattern, never the URL (bounded series).
    func request(route: String, status: Int) {
        Counter(
            label: "kiln_node_requests_total",
            dimensions: [("route", route), ("status", String(status))],
            factory: factory
        ).increment()
    }

    /// A request that did not arrive whole in time (HTTP 408, answered by the connection guard).
    func requestTimedOut() {
        Counter(label: "kiln_node_request_timeouts_total", factory: factory).increment()
    }

    /// One job: `model` is a configured model's id (or `unknown`), `outcome` `ok` or the error code.
    func job(model: String, outcome: String, seconds: Double) {
        Counter(label: "kiln_node_jobs_total", dimensions: [("model", model), ("outcome", outcome)], factory: factory)
            .increment()
        Metrics.Timer(label: "kiln_node_job_duration_seconds", dimensions: [("model", model)], factory: factory)
            .recordNanoseconds(Int64(seconds * 1e9))
    }

    /// One agreement request: `ok`, or why it was refused (`no_commit`, `out_of_tolerance`, …).
    func agreement(outcome: String) {
        Counter(label: "kiln_node_agreements_total", dimensions: [("outcome", outcome)], factory: factory).increment()
    }

    /// The registry in Prometheus' text format, with the node's load and kept commits read now.
    public func exposition(node: InferenceNode) async -> String {
        let load = await node.load
        Gauge(label: "kiln_node_jobs_running", factory: factory).record(load.running)
        Gauge(label: "kiln_node_jobs_queued", factory: factory).record(load.queued)
        Gauge(label: "kiln_node_commits_kept", factory: factory).record(await node.keptCommits)
        return registry.emitToString()
    }
}
