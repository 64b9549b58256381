// Kiln — Apache-2.0. See LICENSE.

/// The CAR v1 header, `{"roots": [CID, …], "version": 1}` in DAG-CBOR: a map whose keys are sorted by length
/// then bytes (so `roots` first), each CID as tag 42 over the bytes `0x00 ‖ cid`.
public struct CARHeader: Hashable, Sendable {
    /// The root CIDs.
    public var roots: [CID]

    /// A header for `roots`.
    public init(roots: [CID]) { self.roots = roots }

    /// The header as written: varint length, then DAG-CBOR `{roots, version: 1}`.
    public var bytes: [UInt8] {
        var out: [UInt8] = [0xA2]  // map(2)
        Self.text("roots", into: &out)
        Self.head(major: 4, UInt64(roots.count), into: &out)
        for root in roots {
            out += [0xD8, 0x2A]  // tag(42)
            let cid = root.bytes
            Self.head(major: 2, UInt64(cid.count + 1), into: &out)
            out.append(0x00)
            out += cid
        }
        Self.text("version", into: &out)
        out.append(0x01)
        return out
    }

    private static func text(_ value: String, into out: inout [UInt8]) {
        head(major: 3, UInt64(value.utf8.count), into: &out)
        out += Array(value.utf8)
    }

    private static func head(major: UInt8, _ value: UInt64, into out: inout [UInt8]) {
        let m = major << 5
        switch value {
        case 0..<24: out.append(m | UInt8(value))
        case 24..<256: out += [m | 24, UInt8(value)]
        case 256..<65536: out += [m | 25, UInt8(value >> 8), UInt8(value & 0xFF)]
        default: out += [m | 26] + (0..<4).map { UInt8(truncatingIfNeeded: value >> (24 - 8 * UInt64($0))) }
        }
    }

    /// Parses a header (strict DAG-CBOR for this one shape).
    /// - Throws: ``ContentError/Code/invalidCAR`` at offset 0 saying what is wrong.
    public init(decoding bytes: [UInt8]) throws(ContentError) {
        var reader = CBORReader(bytes: bytes)
        func fail(_ message: String) -> ContentError {
            ContentError(.invalidCAR, "Unable to read CAR header: \(message)", offset: 0)
        }
        guard let (major, count) = reader.head(), major == 5 else { throw fail("not a CBOR map") }
        var roots: [CID]?
        var version: UInt64?
        for _ in 0..<count {
            guard let (keyMajor, keyLength) = reader.head(), keyMajor == 3, let key = reader.take(keyLength) else {
                throw fail("a key that is not a text string")
            }
            switch String(decoding: key, as: UTF8.self) {
            case "roots":
                guard let (arrayMajor, arrayCount) = reader.head(), arrayMajor == 4, arrayCount <= 1024 else {
                    throw fail("'roots' is not an array")
                }
                var list: [CID] = []
                for _ in 0..<arrayCount {
                    guard let (tagMajor, tag) = reader.head(), tagMajor == 6, tag == 42,
                        let (bytesMajor, length) = reader.head(), bytesMajor == 2, let raw = reader.take(length),
                        raw.first == 0x00
                    else { throw fail("a root that is not a CID (tag 42 over 0x00 ‖ bytes)") }
                    do {
                        list.append(try CID(bytes: Array(raw.dropFirst())))
                    } catch {
                        throw fail(error.message)
                    }
                }
                roots = list
            case "version":
                guard let (versionMajor, value) = reader.head(), versionMajor == 0 else {
                    throw fail("'version' is not an integer")
                }
                version = value
            default:
                throw fail("unexpected key")
            }
        }
        guard reader.atEnd else { throw fail("bytes after the header map") }
        guard version == 1 else { throw fail("version \(version.map(String.init) ?? "missing"), Kiln reads CAR v1") }
        guard let roots else { throw fail("no 'roots'") }
        self.roots = roots
    }
}

/// Just enough CBOR to read a CAR v1 header: heads with definite lengths.
struct CBORReader {
    let bytes: [UInt8]
    var offset = 0

    var atEnd: Bool { offset == bytes.count }

    mutating func head() -> (UInt8, UInt64)? {
        guard offset < bytes.count else { return nil }
        let initial = bytes[offset]
        offset += 1
        let major = initial >> 5
        let info = initial & 31
        switch info {
        case 0..<24: return (major, UInt64(info))
        case 24...27:
            let size = 1 << Int(info - 24)
            guard let raw = take(UInt64(size)) else { return nil }
            return (major, raw.reduce(0) { $0 << 8 | UInt64($1) })
        default: return nil  // indefinite lengths are not DAG-CBOR
        }
    }

    /// The next `count` bytes, or nil when fewer are left (a length read from the input can be any UInt64).
    mutating func take(_ count: UInt64) -> ArraySlice<UInt8>? {
        guard count <= UInt64(bytes.count - offset) else { return nil }
        let count = Int(count)
        defer { offset += count }
        return bytes[offset..<offset + count]
    }
}
