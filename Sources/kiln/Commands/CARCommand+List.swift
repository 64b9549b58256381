// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnContent

extension CARCommand {
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
}
