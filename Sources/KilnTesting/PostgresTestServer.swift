// Kiln — Apache-2.0. See LICENSE.

internal import Foundation

/// The PostgreSQL server the tests use: `KILN_TEST_POSTGRES` (a URL), which `.ci/run` sets after starting a
/// throwaway server with `scripts/postgres-server.sh start`. Each test makes a database of its own on it.
public enum PostgresTestServer {
    /// The server's URL.
    /// - Throws: when `KILN_TEST_POSTGRES` is unset: these tests need a real server, they are never skipped.
    public static func url() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["KILN_TEST_POSTGRES"], !url.isEmpty else {
            throw TestServerError(
                "KILN_TEST_POSTGRES is not set: run `bash .ci/run`, or start a server with `eval \"$(scripts/postgres-server.sh start)\"`"
            )
        }
        return url
    }

    /// A new, empty database on the server; returns its URL.
    public static func makeDatabase() async throws -> String {
        let server = try url()
        let name = "kiln_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        let result = try await KilnProcess.run(
            ["-X", "-q", "-v", "ON_ERROR_STOP=1", server, "-c", "CREATE DATABASE \(name)"],
            program: URL(fileURLWithPath: "/usr/bin/psql")
        )
        guard result.status == 0 else { throw TestServerError("psql: CREATE DATABASE failed: \(result.stderr)") }
        return server.replacingOccurrences(of: "/postgres", with: "/\(name)", options: [.backwards, .anchored])
    }

    /// Runs one SQL statement on the database at `url` with psql and returns its unaligned, tuples-only output.
    public static func psql(_ url: String, _ sql: String) async throws -> String {
        let result = try await KilnProcess.run(
            ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", url, "-c", sql],
            program: URL(fileURLWithPath: "/usr/bin/psql")
        )
        guard result.status == 0 else { throw TestServerError("psql: \(sql): \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A test server that cannot be used.
public struct TestServerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
