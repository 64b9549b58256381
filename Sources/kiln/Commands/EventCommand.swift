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
    let text = String(decoding: bytes, as: UTF8.self)
    if text.drop(while: \.isWhitespace).first == "[" {
        do {
            guard case .array(let items) = try JSONValue.parse(text) else { return [] }
            return try items.enumerated().map { (index, item) in (index + 1, try EventLog(json: item)) }
        } catch let error as FormatError {
            throw CLIError("\(name): \(error.message)", cause: error)
        }
    }
    var logs: [(Int, EventLog)] = []
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        guard !line.allSatisfy(\.isWhitespace) else { continue }
        do {
            logs.append((index + 1, try EventLog(json: try JSONValue.parse(String(line)))))
        } catch {
            throw CLIError("\(name):\(index + 1): \(error.message)", cause: error)
        }
    }
    return logs
}

func parseSignature(_ signature: String) throws -> EventSignature {
    do {
        return try EventSignature(signature)
    } catch {
        throw ValidationError(error.message)
    }
}
