// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnContent

/// Options shared by every command that makes CIDs.
struct ProfileOptions: ParsableArguments {
    @Option(help: "Import profile: kubo-v1 (ipfs add --cid-version=1), unixfs-v1-2025 (IPIP-499), kubo-v0 (plain ipfs add).")
    var profile = "kubo-v1"

    @Flag(help: "Include files and folders whose names start with '.' (ipfs add --hidden).")
    var hidden = false

    func importer() throws -> Importer {
        Importer(profile: try ImportProfile(named: profile), includeHidden: hidden)
    }

    func validate() throws {
        do { _ = try ImportProfile(named: profile) } catch { throw ValidationError(error.message) }
    }
}

/// Where the blockstore lives.
struct BlockstoreOptions: ParsableArguments {
    @Option(name: .customLong("blocks"), help: "The blockstore folder (one file per block).")
    var folder = "kiln-data/blocks"
}

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

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Export published content.",
        subcommands: [CAR.self]
    )

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
                do throws(ContentError) { return try KilnContent.CID(text) } catch { throw ValidationError(error.message) }
            }
            let count = try CARWriter.write(roots: cids, from: try FilesystemBlockstore(folder: blocks.folder), to: output)
            print("\(output): \(count) blocks, roots \(cids.map(\.description).joined(separator: " "))")
        }
    }
}

struct CARCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "car",
        abstract: "Inspect and check CAR v1 files.",
        subcommands: [List.self, Verify.self]
    )

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ls", abstract: "List a CAR file's roots and blocks (offset, CID, codec, size).")

        @Argument(help: "A CAR v1 file.")
        var file: String

        func run() throws {
            let reader = try CARReader(path: file)
            for root in reader.header.roots { print("root \(root)") }
            while let section = try reader.next() {
                let codec = section.cid.codec == KilnContent.CID.raw ? "raw" : section.cid.codec == KilnContent.CID.dagPB ? "dag-pb" : "0x" + String(section.cid.codec, radix: 16)
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
            print("\(file): OK, \(summary.blocks) blocks (\(summary.bytes) bytes) match their CIDs; \(summary.roots.count) roots present")
        }
    }
}
