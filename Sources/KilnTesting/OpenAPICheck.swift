// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import KilnCore

/// A running server checked against its OpenAPI document in docs/reference/openapi/ by an independent client
/// (scripts/crosscheck/openapi.py: openapi-spec-validator, requests, openapi-core).
public enum OpenAPICheck {
    /// The checks' outcome: how many ran, and each one that failed as "name: detail".
    public struct Outcome: Sendable {
        public var count: Int
        public var failures: [String]
    }

    /// Sends every `x-kiln-try` request of `document` (a file name in docs/reference/openapi/) to `base`,
    /// validates each answer, and compares the documented routes with those registered in `sources` (paths
    /// relative to the package root). `variables` fill `{name}` in the tried paths.
    public static func run(
        document: String,
        base: String,
        variables: [String: String] = [:],
        sources: [String]
    ) async throws -> Outcome {
        let root = PythonBench.packageRoot
        let answer = try await PythonBench.run(
            "openapi.py",
            [
                "spec": .string(root.appendingPathComponent("docs/reference/openapi/\(document)").path),
                "base": .string(base),
                "vars": .object(variables.mapValues { .string($0) }),
                "sources": .array(sources.map { .string(root.appendingPathComponent($0).path) }),
            ]
        )
        guard case .array(let checks)? = answer["checks"] else {
            throw PythonBench.Failure(description: "openapi.py gave no checks: \(answer)")
        }
        var failures: [String] = []
        for case .array(let check) in checks where check.count == 3 && check[1] != .bool(true) {
            failures.append("\(check[0].stringValue ?? "?"): \(check[2].stringValue ?? "")")
        }
        return Outcome(count: checks.count, failures: failures)
    }
}
