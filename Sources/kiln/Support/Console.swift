// Kiln — Apache-2.0. See LICENSE.

import Foundation
import KilnCore
import Logging

/// Where a command's own lines go: plain text for people, or with `--log-format json` one JSON object per line
/// (progress and results on stdout, warnings on stderr), so that every line a command writes is JSON.
struct Console: Sendable {
    let format: LogFormat

    /// A result line: plain text on stdout, or `{"event": EVENT, "message": TEXT}`.
    func say(_ text: String, event: String) {
        switch format {
        case .human:
            print(text)
            fflush(nil)  // stdout is often a pipe (tests, supervisors): say it now
        case .json: emit(["event": .string(event), "message": .string(text)])
        }
    }

    /// A warning: plain text on stderr, or a JSON log line on stderr.
    func warn(_ text: String) {
        switch format {
        case .human: FileHandle.standardError.write(Data((text + "\n").utf8))
        case .json:
            FileHandle.standardError.write(
                Data((JSONLogHandler.line(level: .warning, label: "kiln", message: text, metadata: [:]) + "\n").utf8)
            )
        }
    }

    /// A failure, as `kiln` ends: one JSON log line on stderr (`level` error).
    func fail(_ text: String, error: (any Error)? = nil) {
        FileHandle.standardError.write(
            Data(
                (JSONLogHandler.line(level: .error, label: "kiln", message: text, metadata: [:], error: error) + "\n")
                    .utf8
            )
        )
    }

    /// One JSON line on stdout, flushed at once (stdout is often a pipe).
    func emit(_ value: JSONValue) {
        guard let text = try? value.canonicalString() else { return }
        print(text)
        fflush(nil)
    }
}
