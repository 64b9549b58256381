// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnCore

extension EventCommand {
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
                    throw CLIError("\(name):\(line): \(error.message)", cause: error)
                }
            }
        }
    }
}
