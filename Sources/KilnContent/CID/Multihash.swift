// Kiln — Apache-2.0. See LICENSE.

internal import Crypto

/// A self-describing hash: `varint(function) ‖ varint(length) ‖ digest`. Kiln makes sha2-256 (`0x12`).
public struct Multihash: Hashable, Sendable {
    /// The multicodec of the hash function (`0x12` sha2-256).
    public let function: UInt64
    /// The digest bytes.
    public let digest: [UInt8]

    /// The multicodec code of sha2-256.
    public static let sha2_256: UInt64 = 0x12

    /// A multihash of `digest` made by `function`.
    public init(function: UInt64, digest: [UInt8]) {
        self.function = function
        self.digest = digest
    }

    /// The sha2-256 multihash of `bytes`.
    public static func sha256(_ bytes: some Collection<UInt8>) -> Multihash {
        let digest: SHA256.Digest
        if let contiguous = bytes as? [UInt8] {
            digest = SHA256.hash(data: contiguous)
        } else {
            digest = SHA256.hash(data: Array(bytes))
        }
        return Multihash(function: sha2_256, digest: Array(digest))
    }

    /// The binary form.
    public var bytes: [UInt8] {
        var out: [UInt8] = []
        Varint.encode(function, into: &out)
        Varint.encode(UInt64(digest.count), into: &out)
        return out + digest
    }

    /// Reads a multihash at `offset`; returns it and its length in bytes.
    public static func decode(_ bytes: [UInt8], at offset: Int = 0) throws(ContentError) -> (Multihash, Int) {
        let (function, a) = try Varint.decode(bytes, at: offset)
        let (length, b) = try Varint.decode(bytes, at: offset + a)
        let start = offset + a + b
        guard length <= 128, start + Int(length) <= bytes.count else {
            throw ContentError(
                .invalidMultihash,
                "Unable to read multihash: digest of \(length) bytes runs past the end"
            )
        }
        return (Multihash(function: function, digest: Array(bytes[start..<start + Int(length)])), a + b + Int(length))
    }

    /// Whether `block` hashes to this multihash.
    /// - Throws: ``ContentError/Code/unsupported`` for a hash function other than sha2-256.
    public func matches(_ block: [UInt8]) throws(ContentError) -> Bool {
        guard function == Self.sha2_256 else {
            throw ContentError(
                .unsupported,
                "Unable to verify a block hashed with multihash function 0x\(String(function, radix: 16)): Kiln checks sha2-256 only"
            )
        }
        return Array(SHA256.hash(data: block)) == digest
    }
}
