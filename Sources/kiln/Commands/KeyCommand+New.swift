// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnCore
import KilnCrypto

extension KeyCommand {
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
}
