// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnCore
import KilnInference

struct ModelCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model",
        abstract: "Run Kiln's built-in models locally (no nodes, no signatures).",
        subcommands: [Run.self]
    )
}
