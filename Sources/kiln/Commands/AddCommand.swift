// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnContent

struct AddCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add",
        abstract: "Import a file or folder into the blockstore and print its CID (like 'ipfs add -Q')."
    )

    @Argument(help: "A file or folder.")
    var path: String

    @OptionGroup var options: ProfileOptions
    @OptionGroup var blocks: BlockstoreOptions

    func run() throws {
        let store = try FilesystemBlockstore(folder: blocks.folder)
        print(try options.importer().add(path: path, into: store).cid)
    }
}
