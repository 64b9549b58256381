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

    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new random key in a file with mode 0600 and print its address.",
            discussion: "The key itself is never printed. An existing file is never overwritten."
        )

        @Option(name: [.short, .customLong("out")], help: "The key file to create.")
        var out: String

        func run() throws {
            let key = PrivateKey.random()
            do {
                try key.write(toFile: out)
            } catch {
                throw CLIError(error.message)
            }
            print(key.address.checksummed)
        }
    }

    struct Address: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the address of the key in a file (which must have mode 0600 or 0400)."
        )

        @Argument(help: "The key file (hex).")
        var file: String

        func run() throws {
            do {
                print(try PrivateKey(contentsOfFile: file).address.checksummed)
            } catch {
                throw CLIError(error.message)
            }
        }
    }
}
