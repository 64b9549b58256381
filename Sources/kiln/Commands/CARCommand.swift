// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnContent

struct CARCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "car",
        abstract: "Inspect and check CAR v1 files.",
        subcommands: [List.self, Verify.self]
    )
}
