// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import KilnCore
import KilnImage

extension ImageCommand {
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
}
