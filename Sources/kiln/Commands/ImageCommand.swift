// Kiln — Apache-2.0. See LICENSE.

public import ArgumentParser
import KilnCore
public import KilnImage

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Inspect and convert PNG and JPEG files with Kiln's deterministic codecs.",
        subcommands: [Info.self, Convert.self]
    )
}

extension PNGEncoder.Filter: ExpressibleByArgument {}
extension PNGEncoder.Strategy: ExpressibleByArgument {}
