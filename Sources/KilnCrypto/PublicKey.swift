// Kiln — Apache-2.0. See LICENSE.

internal import CSecp256k1
public import KilnCore

/// A secp256k1 public key.
public struct PublicKey: Hashable, Sendable, CustomStringConvertible {
    /// The uncompressed SEC1 form: `0x04 ‖ x ‖ y` (65 bytes).
    public let uncompressed: [UInt8]

    init(_ pubkey: secp256k1_pubkey) {
        var pubkey = pubkey
        var out = [UInt8](repeating: 0, count: 65)
        var length = 65
        secp256k1_ec_pubkey_serialize(
            Secp256k1Context.shared.pointer,
            &out,
            &length,
            &pubkey,
            UInt32(SECP256K1_EC_UNCOMPRESSED)
        )
        uncompressed = out
    }

    /// Parses a SEC1 public key, compressed (33 bytes) or uncompressed (65 bytes).
    /// - Throws: ``CryptoError/Code/invalidSignature`` when the bytes are not a point on the curve.
    public init(sec1 bytes: [UInt8]) throws(CryptoError) {
        var pubkey = secp256k1_pubkey()
        guard secp256k1_ec_pubkey_parse(Secp256k1Context.shared.pointer, &pubkey, bytes, bytes.count) == 1 else {
            throw CryptoError(
                .invalidSignature,
                "Unable to parse public key: \(bytes.count) bytes are not a secp256k1 point"
            )
        }
        self.init(pubkey)
    }

    /// The compressed SEC1 form (33 bytes).
    public var compressed: [UInt8] {
        [uncompressed[64] & 1 == 0 ? 0x02 : 0x03] + uncompressed[1..<33]
    }

    /// The Ethereum address: the last 20 bytes of `keccak256(x ‖ y)`.
    public var address: Address { try! Address(publicKeyXY: uncompressed[1...]) }

    public var description: String { Hex.encode(compressed) }
}
