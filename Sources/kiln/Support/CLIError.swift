// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnCore

/// A failure to report to the user as `Error: <message>` with exit code 1, or `exitCode` when a command gives one
/// failure its own code (no stack, no usage text).
///
/// The command line's own error (its domain is what the user typed and the files named); a library's error it
/// wraps is kept as `cause`.
struct CLIError: CausedError {
    var description: String
    var cause: (any Error)?
    var exitCode: Int32 = EXIT_FAILURE
    init(_ message: String, cause: (any Error)? = nil, exitCode: Int32 = EXIT_FAILURE) {
        description = message
        self.cause = cause
        self.exitCode = exitCode
    }
}
