// Kiln — Apache-2.0. See LICENSE.

/// A content identifier: CIDv0 (`Qm…`, dag-pb + sha2-256) or CIDv1 (`b…` base32, any codec).
///
/// ```swift
/// let cid = try CID("bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku")
/// cid.codec == CID.raw   // true
/// ```
public struct CID: Hashable, Sendable, CustomStringConvertible, Comparable {
    /// 0 or 1.
    public let version: Int
    /// The multicodec of the block's format: ``raw`` or ``dagPB`` (``dagCBOR`` is parsed but not made).
    public let codec: UInt64
    /// The content's multihash.
    public let multihash: Multihash

    /// The multicodec code of raw blocks.
    public static let raw: UInt64 = 0x55
    /// The multicodec code of dag-pb.
    public static let dagPB: UInt64 = 0x70
    /// The multicodec code of dag-cbor.
    public static let dagCBOR: UInt64 = 0x71

    /// A CIDv1.
    public init(codec: UInt64, multihash: Multihash) {
        self.version = 1
        self.codec = codec
        self.multihash = multihash
    }

    /// A CIDv0 (always dag-pb with a sha2-256 multihash).
    public init(v0 multihash: Multihash) {
        self.version = 0
        self.codec = Self.dagPB
        self.multihash = multihash
    }

    /// The CID of `block` in the given version and codec, hashed with sha2-256.
    public static func of(_ block: [UInt8], codec: UInt64, version: Int = 1) -> CID {
        let hash = Multihash.sha256(block)
        return version == 0 ? CID(v0: hash) : CID(codec: codec, multihash: hash)
    }

    /// Parses the text form: `Qm…` (CIDv0, base58btc), `b…` (base32) or `z…` (base58btc) multibase CIDv1.
    /// - Throws: ``ContentError`` saying what is wrong with the text.
    public init(_ text: String) throws(ContentError) {
        if text.count == 46 && text.hasPrefix("Qm") {
            let bytes: [UInt8]
            do {
                bytes = try Multibase.decodeBase58(text)
            } catch {
                throw ContentError(error.code, "Unable to parse CID '\(text)': \(error.message)", cause: error)
            }
            try self.init(bytes: bytes, text: text)
            return
        }
        guard let prefix = text.first else { throw ContentError(.invalidCID, "Unable to parse CID '': empty") }
        let body = text.dropFirst()
        let bytes: [UInt8]
        do throws(ContentError) {
            switch prefix {
            case "b", "B": bytes = try Multibase.decodeBase32(body)
            case "z": bytes = try Multibase.decodeBase58(body)
            default:
                throw ContentError(
                    .invalidMultibase,
                    "unknown multibase prefix '\(prefix)' (Kiln reads 'b' base32 and 'z' base58btc)"
                )
            }
        } catch {
            throw ContentError(error.code, "Unable to parse CID '\(text)': \(error.message)", cause: error)
        }
        try self.init(bytes: bytes, text: text)
    }

    /// Parses the binary form (a CIDv0 is its 34-byte multihash).
    public init(bytes: [UInt8], text: String? = nil) throws(ContentError) {
        let name: String = text ?? ("0x" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined())
        func fail(_ message: String) -> ContentError {
            ContentError(.invalidCID, "Unable to parse CID '\(name)': \(message)")
        }
        if bytes.count == 34 && bytes[0] == 0x12 && bytes[1] == 0x20 {
            self.init(v0: Multihash(function: 0x12, digest: Array(bytes[2...])))
            return
        }
        let (cid, length) = try Self.decode(bytes, at: 0, name: name)
        guard length == bytes.count else { throw fail("\(bytes.count - length) bytes after the multihash") }
        self = cid
    }

    /// Reads a binary CIDv1 (or CIDv0 multihash) at `offset`; returns it and its length (for CAR sections).
    static func decode(_ bytes: [UInt8], at offset: Int, name: String? = nil) throws(ContentError) -> (CID, Int) {
        let label = name ?? "at byte \(offset)"
        let subject = name.map { "'\($0)'" } ?? label
        func fail(_ message: String) -> ContentError {
            ContentError(.invalidCID, "Unable to parse CID \(subject): \(message)")
        }
        if offset + 2 <= bytes.count && bytes[offset] == 0x12 && bytes[offset + 1] == 0x20 {
            guard offset + 34 <= bytes.count else { throw fail("truncated CIDv0") }
            return (CID(v0: Multihash(function: 0x12, digest: Array(bytes[offset + 2..<offset + 34]))), 34)
        }
        do throws(ContentError) {
            let (version, a) = try Varint.decode(bytes, at: offset)
            guard version == 1 else { throw fail("version \(version) (only 0 and 1 exist)") }
            let (codec, b) = try Varint.decode(bytes, at: offset + a)
            let (hash, c) = try Multihash.decode(bytes, at: offset + a + b)
            return (CID(codec: codec, multihash: hash), a + b + c)
        } catch {
            if error.code == .invalidCID { throw error }
            throw fail(error.message)
        }
    }

    /// The binary form: for CIDv0 its multihash, for CIDv1 `varint(1) ‖ varint(codec) ‖ multihash`.
    public var bytes: [UInt8] {
        if version == 0 { return multihash.bytes }
        var out: [UInt8] = [0x01]
        Varint.encode(codec, into: &out)
        return out + multihash.bytes
    }

    /// `Qm…` for CIDv0; `b` + base32 for CIDv1, as kubo prints them.
    public var description: String {
        version == 0 ? Multibase.base58(bytes) : "b" + Multibase.base32(bytes)
    }

    /// This CID as CIDv1 (a CIDv0 keeps its codec and hash).
    public var v1: CID { CID(codec: codec, multihash: multihash) }

    /// Byte order of the binary CIDs.
    public static func < (lhs: CID, rhs: CID) -> Bool { lhs.bytes.lexicographicallyPrecedes(rhs.bytes) }
}
