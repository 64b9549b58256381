// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import Foundation
import KilnCore
import KilnTemplates

extension TemplateCommand {
    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a template: a folder with a commented template.yml that checks and renders as written.",
            discussion: """
                With --from-hashlips, the template is imported from a HashLips layers folder instead (as \
                'kiln template import-hashlips' does). The folder NAME must not exist or be empty.
                """
        )

        @Argument(help: "The new template's folder (its last path component is the collection's name).")
        var name: String

        @Option(parsing: .upToNextOption, help: "The canvas size in pixels: --size W H (default 512 512).")
        var size: [Int] = []

        @Option(help: "Import the layers of this HashLips layers folder (layers/<Trait>/<Name>#<weight>.png).")
        var fromHashlips: String?

        @OptionGroup var hashlips: HashLipsOptions

        func validate() throws { try validateCanvas(size) }

        func run() throws {
            try requireEmptyFolder(name)
            let title = (name as NSString).standardizingPath.split(separator: "/").last.map(String.init) ?? name
            if let fromHashlips {
                try importHashLips(
                    from: fromHashlips,
                    to: name,
                    title: title,
                    size: size.isEmpty ? nil : (size[0], size[1]),
                    options: hashlips
                )
                return
            }
            try FileManager.default.createDirectory(atPath: name, withIntermediateDirectories: true)
            let text = TemplateScaffold.starter(
                name: title,
                width: size.first ?? 512,
                height: size.last ?? 512
            )
            let path = name + "/" + Template.fileName
            try AtomicFile.write(Array(text.utf8), to: path)
            let template = try loadTemplate(name)
            print("\(path): '\(template.name)', \(template.width)×\(template.height), \(template.layers.count) layers")
            print("next: kiln template preview \(name)")
        }
    }

    struct ImportHashLips: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import-hashlips",
            abstract:
                "Make a template from a HashLips (or nftchef) layers folder: weights, stacking order, attributes.",
            discussion: """
                Reads LAYERS_DIR/<Trait>/<Name><delimiter><weight>.png (no weight: weight 1; an element named None \
                draws nothing, as nftchef allows) and writes TEMPLATE_DIR/template.yml with one weighted pick() per \
                trait, one image layer per trait in --order, and HashLips' attributes, with the layers copied to \
                TEMPLATE_DIR/assets/. Names with spaces or other characters a template cannot hold, weights that are \
                not whole numbers, files that are not PNG and layers of different sizes are reported, every one, \
                and nothing is written.
                """
        )

        @Argument(help: "The layers folder: one folder per trait.")
        var layers: String

        @Option(name: [.short, .customLong("out")], help: "The template folder to write (must not exist or be empty).")
        var output: String

        @Option(
            parsing: .upToNextOption,
            help: "Scale every layer to this canvas: --size W H (default: the layers' size)."
        )
        var size: [Int] = []

        @OptionGroup var hashlips: HashLipsOptions

        func validate() throws { try validateCanvas(size) }

        func run() throws {
            try requireEmptyFolder(output)
            let title = (output as NSString).standardizingPath.split(separator: "/").last.map(String.init) ?? output
            try importHashLips(
                from: layers,
                to: output,
                title: title,
                size: size.isEmpty ? nil : (size[0], size[1]),
                options: hashlips
            )
        }
    }
}

struct HashLipsOptions: ParsableArguments {
    @Option(help: "The traits bottom first, comma-separated folder names (default: the folders in name order).")
    var order: String?

    @Option(help: "What separates a name from its weight in a file name.")
    var delimiter = "#"
}

private func validateCanvas(_ size: [Int]) throws {
    guard size.isEmpty || (size.count == 2 && size.allSatisfy { (1...4096).contains($0) }) else {
        throw ValidationError("--size takes two numbers, width and height, each 1…4096")
    }
}

private func requireEmptyFolder(_ path: String) throws {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
    guard entries.isEmpty else {
        throw CLIError("'\(path)' is not empty: choose a new folder")
    }
}

private func importHashLips(
    from layers: String,
    to folder: String,
    title: String,
    size: (Int, Int)?,
    options: HashLipsOptions
) throws {
    let order = options.order.map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    let read: HashLipsLayers
    do {
        read = try HashLipsLayers.read(folder: layers, order: order, delimiter: options.delimiter)
    } catch {
        throw CLIError("the layers in '\(layers)' cannot all be imported:\n\(error.description)", cause: error)
    }
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    let written = try read.writeTemplate(to: folder, name: title, source: layers, size: size)
    let template = try loadTemplate(folder)
    print(
        "\(written.template): '\(template.name)', \(template.width)×\(template.height), "
            + "\(read.traits.count) traits (\(read.traits.map(\.name).joined(separator: " < "))), \(written.assets) layers copied"
    )
    if order == nil {
        print("note: traits stack in folder-name order; pass --order A,B,C for HashLips' layersOrder")
    }
    print("next: kiln template preview \(folder)")
}
