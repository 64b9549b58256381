// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnCore
import KilnCrypto

extension KeyCommand {
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
