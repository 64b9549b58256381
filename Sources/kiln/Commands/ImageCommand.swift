// Kiln — Apache-2.0. See LICENSE.

public import ArgumentParser
import KilnCore
public import KilnImage

struct ImageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "image",
        abstract: "Inspect and convert PNG and JPEG files with Kiln's deterministic codecs.",
        subcommands: [Info.self, Convert.self]
    )

    struct Info: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print an image's format, size and pixel layout.")

        @Argument(help: "A PNG or JPEG file.")
        var file: String

        func run() throws {
            let bytes = try ImageFile.readBytes(file)
            if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]) {
                let header = try PNGDecoder().header(bytes, source: file)
                let kinds = [0: "gray", 2: "RGB", 3: "palette", 4: "gray+alpha", 6: "RGBA"]
                print(
                    "PNG \(header.width)×\(header.height), \(kinds[header.colorType] ?? "type \(header.colorType)"), "
                        + "\(header.bitDepth)-bit\(header.interlaced ? ", interlaced" : "")"
                )
            } else {
                let image = try ImageFile.decode(bytes, source: file)
                print("JPEG \(image.width)×\(image.height)")
            }
        }
    }

    struct Convert: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Decode a PNG or JPEG and write it as PNG or JPEG (by the output's extension).",
            discussion: """
                PNG output is deterministic: the same pixels and options give the same bytes. The output is \
                written to a temporary file and renamed into place.
                """
        )

        @Argument(help: "The input file (PNG or JPEG, told apart by content).")
        var input: String

        @Option(name: [.short, .customLong("out")], help: "The output file: .png, .jpg or .jpeg.")
        var output: String

        @Option(help: "Downscale (area average) so that the longer side is at most N pixels.")
        var thumbnail: Int?

        @Option(help: "JPEG quality, 1…100.")
        var quality = 85

        @Option(help: "PNG zlib level, 0…9.")
        var level = 6

        @Option(help: "PNG row filter.")
        var filter: PNGEncoder.Filter = .adaptive

        @Option(help: "PNG zlib strategy.")
        var strategy: PNGEncoder.Strategy = .rle

        func validate() throws {
            let lower = output.lowercased()
            guard lower.hasSuffix(".png") || lower.hasSuffix(".jpg") || lower.hasSuffix(".jpeg") else {
                throw ValidationError("The output '\(output)' must end in .png, .jpg or .jpeg.")
            }
            if let thumbnail, thumbnail < 1 { throw ValidationError("--thumbnail must be at least 1.") }
        }

        func run() throws {
            var raster = try ImageFile.read(input)
            if let thumbnail, max(raster.width, raster.height) > thumbnail {
                let scale = Double(thumbnail) / Double(max(raster.width, raster.height))
                raster = try raster.downscaled(
                    width: max(1, Int((Double(raster.width) * scale).rounded())),
                    height: max(1, Int((Double(raster.height) * scale).rounded()))
                )
            }
            let bytes: [UInt8]
            if output.lowercased().hasSuffix(".png") {
                let encoder = PNGEncoder(level: level, filter: filter, strategy: strategy)
                bytes = try encoder.encode(raster.rgbaImage)
            } else {
                bytes = try JPEGEncoder(quality: quality).encode(raster)
            }
            try AtomicFile.write(bytes, to: output)
        }
    }
}

extension PNGEncoder.Filter: ExpressibleByArgument {}
extension PNGEncoder.Strategy: ExpressibleByArgument {}
