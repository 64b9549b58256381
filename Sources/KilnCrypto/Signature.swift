// Kiln — Apache-2.0. See LICENSE.

internal import CSecp256k1
public import KilnCore

/// A recoverable ECDSA signature `(r, s, v)` over a 32-byte digest.
///
/// Serialized the Ethereum way as 65 bytes `r ‖ s ‖ v` with `v` = 27 or 28 (``bytes``); parsing also accepts
/// `v` = 0 or 1. Signatures with a high `s` are rejected, as EIP-2 and OpenZeppelin's `ECDSA` do.
public struct Signature: Hashable, Sendable, CustomStringConvertible {
    public let r: Bytes32
    public let s: Bytes32
    /// The recovery id, 0 or 1.
    public let recoveryId: UInt8

    /// Half the secp256k1 curve order: `s` must not exceed it.
    static let halfOrder = try! Bytes32(hex: "0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0")
    static let order = try! Bytes32(hex: "0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141")

    public init(r: Bytes32, s: Bytes32, recoveryId: UInt8) {
        self.r = r
        self.s = s
        self.recoveryId = recoveryId
    }

    /// Parses 65 bytes `r ‖ s ‖ v`, `v` ∈ {0, 1, 27, 28}.
    /// - Throws: ``CryptoError`` with ``CryptoError/Code/invalidSignature`` (length, `v`, zero or too-large `r`/`s`)
    ///   or ``CryptoError/Code/highS``.
    public init(bytes: some Collection<UInt8>) throws(CryptoError) {
        let bytes = Array(bytes)
        guard bytes.count == 65 else {
            throw CryptoError(
                .invalidSignature,
                "Unable to parse signature: expected 65 bytes (r ‖ s ‖ v), found \(bytes.count)"
            )
        }
        let v = bytes[64]
        guard [0, 1, 27, 28].contains(v) else {
            throw CryptoError(.invalidSignature, "Unable to parse signature: v is \(v), expected 27 or 28 (or 0 or 1)")
        }
        let r = try! Bytes32(bytes[0..<32])
        let s = try! Bytes32(bytes[32..<64])
        guard r != .zero, r < Self.order else {
            throw CryptoError(.invalidSignature, "Unable to parse signature: r is zero or not below the curve order")
        }
        guard s != .zero else {
            throw CryptoError(.invalidSignature, "Unable to parse signature: s is zero")
        }
        guard s <= Self.halfOrder else {
            throw CryptoError(
                .highS,
                "Unable to accept signature: s is in the upper half of the curve order (malleable form)"
            )
        }
        self.init(r: r, s: s, recoveryId: v >= 27 ? v - 27 : v)
    }

    /// Parses `0x` + 130 hex digits.
    public init(hex text: String) throws(CryptoError) {
        let bytes: [UInt8]
        do {
            bytes = try Hex.decode(text)
        } catch {
            throw CryptoError(.invalidSignature, "Unable to parse signature: \(error.message)", cause: error)
        }
        try self.init(bytes: bytes)
    }

    /// Ethereum's `v`: 27 or 28.
    public var v: UInt8 { recoveryId + 27 }

    /// 65 bytes `r ‖ s ‖ v` with `v` = 27 or 28.
    public var bytes: [UInt8] { r.bytes + s.bytes + [v] }

    /// `0x` + 130 hex digits.
    public var hex: String { Hex.encode(bytes) }
    public var description: String { hex }

    /// Recovers the public key that made this signature over `digest`.
    /// - Throws: ``CryptoError/Code/recoveryFailed`` when no key recovers (a forged or corrupted signature).
    public func recoverPublicKey(digest: Bytes32) throws(CryptoError) -> PublicKey {
        let context = Secp256k1Context.shared.pointer
        var recoverable = secp256k1_ecdsa_recoverable_signature()
        let compact = r.bytes + s.bytes
        guard recoveryId <= 1,
            secp256k1_ecdsa_recoverable_signature_parse_compact(context, &recoverable, compact, Int32(recoveryId)) == 1
        else {
            throw CryptoError(.invalidSignature, "Unable to parse signature: r or s out of range")
        }
        var pubkey = secp256k1_pubkey()
        let recovered = digest.withUnsafeBytes { digestBytes in
            secp256k1_ecdsa_recover(
                context,
                &pubkey,
                &recoverable,
                digestBytes.baseAddress!.assumingMemoryBound(to: UInt8.self)
            )
        }
        guard recovered == 1 else {
            throw CryptoError(
                .recoveryFailed,
                "Unable to recover a public key from signature \(hex.prefix(18))… over \(digest.hex)"
            )
        }
        return PublicKey(pubkey)
    }

    /// Recovers the address that signed `digest`.
    public func recoverAddress(digest: Bytes32) throws(CryptoError) -> Address {
        try recoverPublicKey(digest: digest).address
    }
}
