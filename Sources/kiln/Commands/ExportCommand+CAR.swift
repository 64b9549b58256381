// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnContent

extension ExportCommand {
    struct CAR: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "car",
            abstract: "Write a CAR v1 file of the DAGs under the given roots, from the blockstore.",
            discussion: "Blocks appear depth-first from each root, each once. The file is written atomically."
        )

        @Argument(help: "Root CIDs.")
        var roots: [String]

        @Option(name: [.short, .customLong("out")], help: "The CAR file to write.")
        var output: String

        @OptionGroup var blocks: BlockstoreOptions

        func validate() throws {
            guard !roots.isEmpty else { throw ValidationError("Give at least one root CID.") }
        }

        func run() throws {
            let cids = try roots.map { text in
                do throws(ContentError) { return try KilnContent.CID(text) } catch {
                    throw ValidationError(error.message)
                }
            }
            let count = try CARWriter.write(
                roots: cids,
                from: try FilesystemBlockstore(folder: blocks.folder),
                to: output
            )
            print("\(output): \(count) blocks, roots \(cids.map(\.description).joined(separator: " "))")
        }
    }
}
