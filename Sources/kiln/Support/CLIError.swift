// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser

/// A failure to report to the user as `Error: <message>` with exit code 1 (no stack, no usage text).
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ message: String) { description = message }
}
