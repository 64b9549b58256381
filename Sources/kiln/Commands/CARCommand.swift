// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnContent

struct CARCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "car",
        abstract: "Inspect and check CAR v1 files.",
        subcommands: [List.self, Verify.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls",
            abstract: "List a CAR file's roots and blocks (offset, CID, codec, size)."
        )

        @Argument(help: "A CAR v1 file.")
        var file: String

        func run() throws {
            let reader = try CARReader(path: file)
            for root in reader.header.roots { print("root \(root)") }
            while let section = try reader.next() {
                let codec =
                    section.cid.codec == KilnContent.CID.raw
                    ? "raw"
                    : section.cid.codec == KilnContent.CID.dagPB
                        ? "dag-pb" : "0x" + String(section.cid.codec, radix: 16)
                print("\(section.offset)\t\(section.cid)\t\(codec)\t\(section.block.count)")
            }
        }
    }

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
