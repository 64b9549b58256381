import BigInt
import Foundation
import Testing

/// Looks for a secret in everything a command left behind, in every encoding a leak could take: the raw bytes,
/// hex (lower, upper, with 0x), base64 (standard and URL-safe, with and without padding) and decimal. Each hit
/// names the place and the encoding.
struct SecretSweep {
    /// What to look for: encoding name → bytes.
    let needles: [(String, [UInt8])]

    /// A secret given as its bytes (a private key: 32 bytes).
    init(bytes secret: [UInt8]) {
        let hex = secret.map { String(format: "%02x", $0) }.joined()
        let base64 = Data(secret).base64EncodedString()
        let unpadded = String(base64.prefix { $0 != "=" })
        let urlSafe = unpadded.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        needles = [
            ("raw bytes", secret), ("hex", Array(hex.utf8)), ("HEX", Array(hex.uppercased().utf8)),
            ("base64", Array(unpadded.utf8)), ("base64url", Array(urlSafe.utf8)),
            ("decimal", Array(BigUInt(Data(secret)).description.utf8)),
        ]
    }

    /// A secret given as text (a bearer token): the text itself, and the encodings of its bytes.
    init(text: String) {
        let bytes = Array(text.utf8)
        self.init(bytes: bytes)
    }

    /// Where the secret appears in `text` (named `place`).
    func hits(in text: String, _ place: String) -> [String] { hits(in: Array(text.utf8), place) }

    func hits(in bytes: [UInt8], _ place: String) -> [String] {
        needles.compactMap { name, needle in
            Self.contains(bytes, needle) ? "\(place): the secret as \(name)" : nil
        }
    }

    /// Every regular file under `folder` (except `skipping`, a path relative to it), as bytes.
    func hits(under folder: URL, skipping: Set<String> = []) throws -> [String] {
        let paths = try FileManager.default.subpathsOfDirectory(atPath: folder.path)
        var found: [String] = []
        for path in paths.sorted() where !skipping.contains(where: { path == $0 || path.hasPrefix($0 + "/") }) {
            let url = folder.appendingPathComponent(path)
            guard (try url.resourceValues(forKeys: [.isRegularFileKey])).isRegularFile == true else { continue }
            found += hits(in: Array(try Data(contentsOf: url)), path)
        }
        return found
    }

    static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, haystack.count >= needle.count else { return false }
        let first = needle[0]
        var index = 0
        let last = haystack.count - needle.count
        while index <= last {
            if haystack[index] == first && haystack[index..<index + needle.count].elementsEqual(needle) { return true }
            index += 1
        }
        return false
    }
}
