// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnContent

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export published content.",
        subcommands: [CAR.self]
    )
}
