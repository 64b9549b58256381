// Kiln — Apache-2.0. See LICENSE.

internal import Foundation

/// The PostgreSQL server the tests use: `KILN_TEST_POSTGRES` (a URL), which `.ci/run` sets after starting a
/// throwaway server with `scripts/dev/postgres-server.sh start`. Each test makes a database of its own on it.
public enum PostgresTestServer {
    /// The server's URL.
    /// - Throws: when `KILN_TEST_POSTGRES` is unset: these tests need a real server, they are never skipped.
    public static func url() throws -> String {
        guard let url = ProcessInfo.processInfo.environment["KILN_TEST_POSTGRES"], !url.isEmpty else {
            throw TestServerError(
                "KILN_TEST_POSTGRES is not set: run `bash .ci/run`, or start a server with `eval \"$(scripts/dev/postgres-server.sh start)\"`"
            )
        }
        return url
    }

    /// A new, empty database on the server; returns its URL.
    public static func makeDatabase() async throws -> String {
        let server = try url()
        let name = "kiln_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased().prefix(20)
        _ = try await psql(server, "CREATE DATABASE \(name)")
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

    /// A private server of the test's own (`scripts/dev/postgres-server.sh start`), for a test that restarts it;
    /// returns its URL and folder. Stop it with ``stop(_:)``.
    /// - Parameter tls: a folder with `server.crt`, `server.key` and `root.crt`: the server then takes TLS
    ///   connections only (user `certuser` by client certificate).
    public static func startPrivate(tls: String? = nil) async throws -> (url: String, folder: String) {
        let result = try await script(["start"], environment: tls.map { ["KILN_PG_TLS": $0] } ?? [:])
        guard let line = result.split(separator: "\n").first(where: { $0.hasPrefix("export ") }) else {
            throw TestServerError("postgres-server.sh start printed no URL: \(result)")
        }
        var values: [String: String] = [:]
        for part in line.dropFirst("export ".count).split(separator: " ") {
            let pair = part.split(separator: "=", maxSplits: 1).map(String.init)
            if pair.count == 2 { values[pair[0]] = pair[1] }
        }
        guard let url = values["KILN_TEST_POSTGRES"], let folder = values["KILN_TEST_POSTGRES_DIR"] else {
            throw TestServerError("postgres-server.sh start: \(line)")
        }
        return (url, folder)
    }

    /// Restarts the server in `folder` (every connection drops).
    public static func restart(_ folder: String) async throws { _ = try await script(["restart", folder]) }

    /// Stops the server in `folder` and removes it.
    public static func stop(_ folder: String) async throws { _ = try await script(["stop", folder]) }

    private static func script(_ arguments: [String], environment: [String: String] = [:]) async throws -> String {
        let result = try await KilnProcess.run(
            [PythonBench.packageRoot.appendingPathComponent("scripts/dev/postgres-server.sh").path] + arguments,
            environment: environment,
            program: URL(fileURLWithPath: "/bin/bash")
        )
        guard result.status == 0 else {
            throw TestServerError("postgres-server.sh \(arguments.joined(separator: " ")): \(result.stderr)")
        }
        return result.stdout
    }
}

/// A test server that cannot be used.
public struct TestServerError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
