// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnContent

extension CARCommand {
    struct Verify: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Check every block of a CAR file against its CID; report the offset of the first bad section.",
            discussion: "Exit status 0 when every block matches and every root is present; 1 otherwise."
        )

        @Argument(help: "A CAR v1 file.")
        var file: String

        func run() throws {
            let summary = try CARReader.verify(path: file)
            print(
                "\(file): OK, \(summary.blocks) blocks (\(summary.bytes) bytes) match their CIDs; \(summary.roots.count) roots present"
            )
        }
    }
}
