// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnCore
import KilnImage

extension ImageCommand {
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
