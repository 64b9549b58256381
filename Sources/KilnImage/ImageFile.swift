// Kiln — Apache-2.0. See LICENSE.

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reading image files by content: PNG or JPEG, told apart by their signatures (not by the file name).
public enum ImageFile {
    /// Reads and decodes the PNG or JPEG at `path` into a premultiplied ``Raster``.
    /// - Throws: ``ImageError`` naming `path` (``ImageError/Code/unreadable``, ``ImageError/Code/unknownFormat``, …).
    public static func read(_ path: String, limits: ImageLimits = .default) throws(ImageError) -> Raster {
        Raster(try decode(try readBytes(path), source: path, limits: limits))
    }

    /// Decodes PNG or JPEG bytes into straight RGBA.
    public static func decode(_ bytes: [UInt8], source: String, limits: ImageLimits = .default) throws(ImageError) -> RGBAImage {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return try PNGDecoder(limits: limits).decode(bytes, source: source)
        }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            return try JPEGDecoder(limits: limits).decode(bytes, source: source)
        }
        throw ImageError(.unknownFormat, "Unable to decode image '\(source)': neither PNG nor JPEG (by its first bytes)")
    }

    /// The bytes of a file, read in one go; at most `limit` bytes.
    public static func readBytes(_ path: String, limit: Int = 256 << 20) throws(ImageError) -> [UInt8] {
        guard let file = fopen(path, "rb") else {
            throw ImageError(.unreadable, "Unable to read '\(path)': \(String(cString: strerror(errno)))")
        }
        defer { fclose(file) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count > 0 { bytes.append(contentsOf: chunk[..<count]) }
            if bytes.count > limit {
                throw ImageError(.tooLarge, "Refusing '\(path)': larger than \(limit) bytes")
            }
            if count < chunk.count {
                if ferror(file) != 0 {
                    throw ImageError(.unreadable, "Unable to read '\(path)': \(String(cString: strerror(errno)))")
                }
                return bytes
            }
        }
    }
}
