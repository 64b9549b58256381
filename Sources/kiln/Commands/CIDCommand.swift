// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnContent

struct CIDCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cid",
        abstract: "Print the CID of a file or folder, as 'ipfs add --only-hash -Q' does for the profile.",
        discussion: "Nothing is stored. Files are read in chunks, so any size works in bounded memory."
    )

    @Argument(help: "A file or folder.")
    var path: String

    @OptionGroup var options: ProfileOptions

    func run() throws {
        print(try options.importer().add(path: path).cid)
    }
}
