import Foundation
import KilnContent
import KilnCore
import KilnTesting

/// Writes `count` deterministic pseudo-random bytes to `url` (without holding more than 1 MiB at once).
func writeFile(_ url: URL, count: Int, seed: UInt64) throws {
    var generator = SeededGenerator(seed: seed)
    _ = FileManager.default.createFile(atPath: url.path, contents: nil)
    let handle = try FileHandle(forWritingTo: url)
    defer { try? handle.close() }
    var left = count
    while left > 0 {
        let piece = min(left, 1 << 20)
        var bytes = [UInt8](repeating: 0, count: piece)
        for index in stride(from: 0, to: piece, by: 8) {
            let word = generator.next()
            for offset in 0..<min(8, piece - index) {
                bytes[index + offset] = UInt8(truncatingIfNeeded: word >> (8 * UInt64(offset)))
            }
        }
        try handle.write(contentsOf: bytes)
        left -= piece
    }
}

extension ImportProfile {
    /// The profile as the Python cross-check takes it.
    var json: JSONValue {
        [
            "chunk": .number(chunkSize), "width": .number(maxLinks), "raw": .bool(rawLeaves),
            "version": .number(cidVersion),
        ]
    }
}

extension JSONValue {
    var items: [JSONValue] {
        if case .array(let items) = self { return items }
        return []
    }
}
