// Kiln — Apache-2.0. See LICENSE.

extension CARReader {
    /// What ``verify(path:)`` found in a sound CAR file.
    public struct Summary: Hashable, Sendable {
        /// The CAR's roots.
        public var roots: [CID]
        /// How many blocks it holds.
        public var blocks: Int
        /// Its size in bytes.
        public var bytes: Int
    }

    /// Reads the whole file: every block must match its CID, be raw or decodable dag-pb (the codecs Kiln
    /// writes; a CID's codec is not covered by its hash, so this is what catches a damaged codec), and
    /// every root must be present.
    /// - Throws: ``ContentError/Code/invalidCAR`` with the offset of the first bad section (0 for the header).
    public static func verify(path: String) throws(ContentError) -> Summary {
        let reader = try CARReader(path: path)
        var seen: Set<CID> = []
        var blocks = 0
        var bytes = 0
        while let section = try reader.next() {
            func fail(_ message: String) -> ContentError {
                ContentError(
                    .invalidCAR,
                    "Unable to verify CAR '\(path)' at byte \(section.offset): \(message)",
                    offset: section.offset
                )
            }
            switch section.cid.codec {
            case CID.raw: break
            case CID.dagPB:
                do { _ = try DagPBNode(decoding: section.block) } catch { throw fail(error.message) }
            default:
                throw fail(
                    "block \(section.cid) has codec 0x\(String(section.cid.codec, radix: 16)); Kiln's CARs hold raw and dag-pb blocks only"
                )
            }
            seen.insert(section.cid.v1)
            blocks += 1
            bytes += section.block.count
        }
        if let missing = reader.header.roots.first(where: { !seen.contains($0.v1) }) {
            throw ContentError(
                .invalidCAR,
                "Unable to verify CAR '\(path)': root \(missing) is not in the file",
                offset: 0
            )
        }
        return Summary(roots: reader.header.roots, blocks: blocks, bytes: bytes)
    }
}
