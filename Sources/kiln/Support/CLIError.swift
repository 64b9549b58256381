// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnCore

/// A failure to report to the user as `Error: <message>` with exit code 1 (no stack, no usage text).
///
/// The command line's own error (its domain is what the user typed and the files named); a library's error it
/// wraps is kept as `cause`.
struct CLIError: CausedError {
    var description: String
    var cause: (any Error)?
    init(_ message: String, cause: (any Error)? = nil) {
        description = message
        self.cause = cause
    }
}
