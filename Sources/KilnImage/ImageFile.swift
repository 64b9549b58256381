// Kiln — Apache-2.0. See LICENSE.

internal import KilnCore

/// Reading image files by content: PNG or JPEG, told apart by their signatures (not by the file name).
public enum ImageFile {
    /// Reads and decodes the PNG or JPEG at `path` into a premultiplied ``Raster``.
    /// - Throws: ``ImageError`` naming `path` (``ImageError/Code/unreadable``, ``ImageError/Code/unknownFormat``, …).
    public static func read(_ path: String, limits: ImageLimits = .default) throws(ImageError) -> Raster {
        Raster(try decode(try readBytes(path), source: path, limits: limits))
    }

    /// Decodes PNG or JPEG bytes into straight RGBA.
    public static func decode(_ bytes: [UInt8], source: String, limits: ImageLimits = .default) throws(ImageError)
        -> RGBAImage
    {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return try PNGDecoder(limits: limits).decode(bytes, source: source)
        }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            return try JPEGDecoder(limits: limits).decode(bytes, source: source)
        }
        throw ImageError(
            .unknownFormat,
            "Unable to decode image '\(source)': neither PNG nor JPEG (by its first bytes)"
        )
    }

    /// The bytes of a file, read in one go; at most `limit` bytes.
    public static func readBytes(_ path: String, limit: Int = 256 << 20) throws(ImageError) -> [UInt8] {
        do {
            return try FileBytes.read(path, limit: limit)
        } catch {
            switch error {
            case .unreadable(let reason): throw ImageError(.unreadable, "Unable to read '\(path)': \(reason)")
            case .tooLarge: throw ImageError(.tooLarge, "Refusing '\(path)': larger than \(limit) bytes")
            }
        }
    }
}
