// Kiln — Apache-2.0. See LICENSE.
// What every benchmark target of this package shares: the regression tolerances of `thresholds check`.

public import Benchmark

/// The tolerances for `metrics`: a regression is a p90 time, CPU time or rate more than 50 % worse than the
/// committed one (`Benchmarks/Thresholds/`, written by
/// `swift package --allow-writing-to-package-directory benchmark thresholds update`, checked by
/// `swift package benchmark thresholds check`), or 10 % more mallocs or instructions. Wide for timings, because
/// this shared 2-core machine's timings wander by up to 40 % between runs (Keccak-256 of 1 MiB: 364 and 228 per
/// second, minutes apart); counts are steady. Only the metrics a benchmark measures get a tolerance (benchmark
/// warns about the others).
///
/// Benchmark names use `_` for spaces: benchmark 1.38's `thresholds update` writes `Target.Name.p90.json` with
/// spaces and slashes made `_`, while `thresholds check` looks the name up as it is, so only such names are checked.
public func kilnThresholds(_ metrics: [BenchmarkMetric]) -> [BenchmarkMetric: BenchmarkThresholds] {
    var thresholds: [BenchmarkMetric: BenchmarkThresholds] = [:]
    for metric in metrics {
        switch metric {
        case .mallocCountTotal, .instructions: thresholds[metric] = BenchmarkThresholds(relative: [.p90: 10.0])
        default: thresholds[metric] = BenchmarkThresholds(relative: [.p90: 50.0])
        }
    }
    return thresholds
}

extension Benchmark.Configuration {
    /// A benchmark target's configuration: `metrics`, each with its ``kilnThresholds(_:)`` tolerance.
    public static func kiln(
        metrics: [BenchmarkMetric],
        warmupIterations: Int,
        maxDuration: Duration,
        maxIterations: Int,
        setup: Benchmark.BenchmarkSetupHook? = nil,
        teardown: Benchmark.BenchmarkTeardownHook? = nil
    ) -> Self {
        .init(
            metrics: metrics,
            warmupIterations: warmupIterations,
            maxDuration: maxDuration,
            maxIterations: maxIterations,
            thresholds: kilnThresholds(metrics),
            setup: setup,
            teardown: teardown
        )
    }
}
