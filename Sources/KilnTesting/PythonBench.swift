// Kiln — Apache-2.0. See LICENSE.

public import Foundation
public import KilnCore

/// Runs the Python cross-check scripts in `scripts/crosscheck/` with the venv that `.ci/run` makes.
///
/// Each call starts one Python process, writes a JSON request to its standard input and reads one JSON
/// answer from its standard output, so a test can check a thousand values in one round trip.
public enum PythonBench {
    /// An error that says what went wrong and how to fix it (for a missing venv: how to create it).
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
        public init(description: String) { self.description = description }
    }

    /// The package root: the nearest folder above this source file that holds `Package.swift`.
    public static let packageRoot: URL = {
        var url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        while url.path != "/" {
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("Package.swift").path) { return url }
            url = url.deletingLastPathComponent()
        }
        fatalError("Package.swift not found above \(#filePath)")
    }()

    /// `.venv/bin/python3` in the package root.
    public static var python: URL { packageRoot.appendingPathComponent(".venv/bin/python3") }

    /// `.venv/infernet/bin/python3`: Ritual's infernet-client and infernet-ml (they need web3 6; see .ci/run).
    public static var infernetPython: URL { packageRoot.appendingPathComponent(".venv/infernet/bin/python3") }

    /// Runs `scripts/crosscheck/<script>` with `request` as JSON on standard input; returns its JSON answer.
    /// - Throws: ``Failure`` when the venv is missing, the script fails, or its output is not JSON.
    public static func run(_ script: String, _ request: JSONValue, python: URL = python) async throws -> JSONValue {
        try await offPool { try runBlocking(script, request, python: python) }
    }

    /// ``run(_:_:python:)``, blocking the calling thread: only for threads of one's own.
    public static func runBlocking(_ script: String, _ request: JSONValue, python: URL = python) throws -> JSONValue {
        guard FileManager.default.isExecutableFile(atPath: python.path) else {
            throw Failure(
                description: """
                    The Python venv for cross-checks is missing at \(python.path).
                    Create it with `bash .ci/run` (which also runs the tests), or by hand:
                      python3 -m venv .venv && .venv/bin/pip install -r scripts/requirements.txt
                    (for .venv/infernet, the commands in .ci/run)
                    """
            )
        }
        let scriptURL = packageRoot.appendingPathComponent("scripts/crosscheck").appendingPathComponent(script)
        let process = Process()
        process.executableURL = python
        process.arguments = [scriptURL.path]
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let body = Data(try request.canonicalBytes())
        // Write on another thread so a large answer can't deadlock against a large request.
        let writer = Thread {
            input.fileHandleForWriting.write(body)
            try? input.fileHandleForWriting.close()
        }
        writer.start()
        let answer = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(
                description: "\(script) exited with \(process.terminationStatus):\n"
                    + String(decoding: stderr, as: UTF8.self)
            )
        }
        do {
            return try JSONValue.parse(bytes: Array(answer))
        } catch {
            throw Failure(
                description: "\(script) printed no JSON (\(error)):\n"
                    + String(decoding: answer.prefix(500), as: UTF8.self)
            )
        }
    }
}
