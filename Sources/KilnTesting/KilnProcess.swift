// Kiln — Apache-2.0. See LICENSE.

public import Foundation

/// Runs the built `kiln` executable, as a user would from a shell.
public enum KilnProcess {
    /// What one run printed and how it ended.
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
    }

    /// The `kiln` binary beside the test bundle (both are products of the same build).
    public static var executable: URL {
        let beside = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("kiln")
        if FileManager.default.isExecutableFile(atPath: beside.path) { return beside }
        return PythonBench.packageRoot.appendingPathComponent(".build/debug/kiln")
    }

    /// Runs `kiln` with `arguments`, feeding `stdin`, in `directory` (default: a new temporary folder).
    public static func run(_ arguments: [String], stdin: String = "", in directory: URL? = nil) throws -> Result {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = directory ?? FileManager.default.temporaryDirectory
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Result(
            status: process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self))
    }
}
