// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnCore

struct EventCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "event",
        abstract: "Work with Solidity event signatures and JSON-RPC logs.",
        subcommands: [Topic.self, Decode.self]
    )
}

/// Reads logs as JSON lines or one JSON array; returns each with the line it came from.
func readLogs(_ bytes: [UInt8], name: String) throws -> [(Int, EventLog)] {
    do { return try EventLog.readRecorded(bytes, name: name).map { ($0.line, $0.log) } } catch {
        throw CLIError(error.message, cause: error)
    }
}

func parseSignature(_ signature: String) throws -> EventSignature {
    do {
        return try EventSignature(signature)
    } catch {
        throw ValidationError(error.message)
    }
}
