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

    struct Topic: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an event's canonical signature and its topic0.",
            discussion: "Example: kiln event topic 'LevelUp(uint256 indexed tokenId, uint256 level)'"
        )

        @Argument(help: "The event signature, as Solidity declares it.")
        var signature: String

        func run() throws {
            let event = try parseSignature(signature)
            print(event.canonical)
            print(event.topic0.hex)
        }
    }

    struct Decode: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode logs (as eth_getLogs returns them) into named values, one JSON line each.",
            discussion: """
                Input: one JSON log object per line, or a JSON array of them. Logs whose topic0 is another \
                event's are skipped; a log that claims to be this event but does not decode is an error.
                """
        )

        @Argument(help: "The event signature, as Solidity declares it.")
        var signature: String

        @Argument(help: "The file of logs; '-' or nothing reads standard input.")
        var file: String = "-"

        func run() throws {
            let event = try parseSignature(signature)
            let data: Data
            if file == "-" {
                data = FileHandle.standardInput.readDataToEndOfFile()
            } else {
                data = Data(try readInputFile(file))
            }
            let name = file == "-" ? "<stdin>" : file
            for (line, log) in try readLogs(Array(data), name: name) {
                guard log.topics.first == event.topic0 else { continue }
                do {
                    let decoded = try event.decode(log)
                    var fields: [String: JSONValue] = [:]
                    for field in decoded.fields {
                        fields[field.name] = .string(field.value.description)
                    }
                    var object: [String: JSONValue] = ["event": .string(event.name), "args": .object(fields)]
                    if let block = log.blockNumber { object["blockNumber"] = .number(block) }
                    if let index = log.logIndex { object["logIndex"] = .number(index) }
                    print(try JSONValue.object(object).canonicalString())
                } catch {
                    throw CLIError("\(name):\(line): \(error.message)")
                }
            }
        }
    }
}

/// Reads logs as JSON lines or one JSON array; returns each with the line it came from.
private func readLogs(_ bytes: [UInt8], name: String) throws -> [(Int, EventLog)] {
    let text = String(decoding: bytes, as: UTF8.self)
    if text.drop(while: \.isWhitespace).first == "[" {
        do {
            guard case .array(let items) = try JSONValue.parse(text) else { return [] }
            return try items.enumerated().map { (index, item) in (index + 1, try EventLog(json: item)) }
        } catch let error as FormatError {
            throw CLIError("\(name): \(error.message)")
        }
    }
    var logs: [(Int, EventLog)] = []
    for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
        guard !line.allSatisfy(\.isWhitespace) else { continue }
        do {
            logs.append((index + 1, try EventLog(json: try JSONValue.parse(String(line)))))
        } catch {
            throw CLIError("\(name):\(index + 1): \(error.message)")
        }
    }
    return logs
}

private func parseSignature(_ signature: String) throws -> EventSignature {
    do {
        return try EventSignature(signature)
    } catch {
        throw ValidationError(error.message)
    }
}
