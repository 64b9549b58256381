// Kiln — Apache-2.0. See LICENSE.

import KilnCore

/// Reads a file the user named, bounded (so a wrong path to a huge file fails instead of filling memory).
/// - Throws: ``CLIError`` "Unable to read 'PATH': reason".
func readInputFile(_ path: String, limit: Int = 64 << 20) throws -> [UInt8] {
    do {
        return try FileBytes.read(path, limit: limit)
    } catch {
        switch error {
        case .unreadable(let why): throw CLIError("Unable to read '\(path)': \(why)")
        case .tooLarge(let limit): throw CLIError("Unable to read '\(path)': larger than \(limit) bytes")
        }
    }
}
