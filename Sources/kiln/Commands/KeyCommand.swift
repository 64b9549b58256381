// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnCore
import KilnCrypto

struct KeyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "key",
        abstract: "Create and inspect operator keys (secp256k1).",
        subcommands: [New.self, Address.self]
    )
}
