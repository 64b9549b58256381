// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnCore

extension EventCommand {
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
}
