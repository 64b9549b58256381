// Kiln — Apache-2.0. See LICENSE.

import Foundation
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

/// Every file in a folder of committed outputs (any names, hidden files skipped), keyed by keccak-256: what
/// `--outputs DIR` gives an agreement bundle's verification.
/// - Throws: ``CLIError`` when the folder or a file in it cannot be read.
func readOutputsFolder(_ folder: String) throws -> [Bytes32: [UInt8]] {
    let names: [String]
    do { names = try FileManager.default.contentsOfDirectory(atPath: folder) } catch {
        throw CLIError("--outputs \(folder): not a readable folder")
    }
    var outputs: [Bytes32: [UInt8]] = [:]
    for name in names.sorted() where !name.hasPrefix(".") {
        let bytes = try readInputFile(folder + "/" + name, limit: 256 << 20)
        outputs[Keccak256.hash(bytes)] = bytes
    }
    return outputs
}
