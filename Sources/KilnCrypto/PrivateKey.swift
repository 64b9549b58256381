// Kiln — Apache-2.0. See LICENSE.

internal import CSecp256k1
public import KilnCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A secp256k1 private key.
///
/// The 32 secret bytes live in one heap buffer that is zeroed when the last copy of the key is dropped.
/// The key never prints itself: ``description``, `debugDescription` and reflection all show
/// `PrivateKey(secp256k1, 32 bytes)`.
public struct PrivateKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let storage: SecretStorage

    /// A key from 32 secret bytes.
    /// - Throws: ``CryptoError/Code/invalidPrivateKey`` when the bytes are not a valid secret (zero or not
    ///   below the curve order) or not 32 bytes long.
    public init(bytes: some Collection<UInt8>) throws(CryptoError) {
        guard bytes.count == 32 else {
            throw CryptoError(.invalidPrivateKey, "Unable to use private key: expected 32 bytes, found \(bytes.count)")
        }
        let storage = SecretStorage(bytes)
        guard secp256k1_ec_seckey_verify(Secp256k1Context.shared.pointer, storage.pointer) == 1 else {
            throw CryptoError(
                .invalidPrivateKey,
                "Unable to use private key: not a valid secp256k1 secret (zero or ≥ the curve order)"
            )
        }
        self.storage = storage
    }

    /// A key from `0x`-prefixed (or bare) hex; surrounding whitespace is ignored.
    public init(hex text: String) throws(CryptoError) {
        let trimmed = text.trimmingWhitespace()
        var bytes: [UInt8]
        do {
            bytes = try Hex.decode(trimmed, requirePrefix: false)
        } catch {
            // Never quote the text: it is (part of) a secret.
            throw CryptoError(.invalidPrivateKey, "Unable to parse private key: not hex (\(error.code))", cause: error)
        }
        defer { bytes.withUnsafeMutableBytes { explicitZero($0) } }
        try self.init(bytes: bytes)
    }

    /// A new random key from the system's secure generator.
    public static func random() -> PrivateKey {
        var generator = SystemRandomNumberGenerator()
        while true {
            var bytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
            defer { bytes.withUnsafeMutableBytes { explicitZero($0) } }
            if let key = try? PrivateKey(bytes: bytes) { return key }
        }
    }

    /// The public key.
    public var publicKey: PublicKey {
        var pubkey = secp256k1_pubkey()
        let created = secp256k1_ec_pubkey_create(Secp256k1Context.shared.pointer, &pubkey, storage.pointer)
        precondition(created == 1, "a verified secret always has a public key")
        return PublicKey(pubkey)
    }

    /// The Ethereum address of this key.
    public var address: Address { publicKey.address }

    /// Signs a 32-byte digest: RFC 6979 deterministic nonce, low `s`, with the recovery id.
    public func sign(digest: Bytes32) -> Signature {
        var recoverable = secp256k1_ecdsa_recoverable_signature()
        let signed = digest.withUnsafeBytes { digestBytes in
            secp256k1_ecdsa_sign_recoverable(
                Secp256k1Context.shared.pointer,
                &recoverable,
                digestBytes.baseAddress!.assumingMemoryBound(to: UInt8.self),
                storage.pointer,
                nil,
                nil
            )
        }
        precondition(signed == 1, "signing with a verified secret and the default nonce cannot fail")
        var compact = [UInt8](repeating: 0, count: 64)
        var recoveryId: Int32 = 0
        secp256k1_ecdsa_recoverable_signature_serialize_compact(
            Secp256k1Context.shared.pointer,
            &compact,
            &recoveryId,
            &recoverable
        )
        return Signature(
            r: try! Bytes32(compact[0..<32]),
            s: try! Bytes32(compact[32..<64]),
            recoveryId: UInt8(recoveryId)
        )
    }

    /// The 32 secret bytes, for writing a key file. Callers must zero their copy when done.
    public func withUnsafeSecretBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(UnsafeRawBufferPointer(start: storage.pointer, count: 32))
    }

    public var description: String { "PrivateKey(secp256k1, 32 bytes)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// The heap buffer behind a ``PrivateKey``: immutable after init, zeroed in `deinit`.
/// Immutable shared bytes are safe to read from any thread, hence `@unchecked Sendable`.
private final class SecretStorage: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<UInt8>

    init(_ bytes: some Collection<UInt8>) {
        pointer = .allocate(capacity: 32)
        _ = UnsafeMutableBufferPointer(start: pointer, count: 32).initialize(from: bytes)
    }

    deinit {
        explicitZero(UnsafeMutableRawBufferPointer(start: pointer, count: 32))
        pointer.deallocate()
    }
}

/// Zeroes memory in a way the optimiser may not remove.
public func explicitZero(_ buffer: UnsafeMutableRawBufferPointer) {
    guard let base = buffer.baseAddress else { return }
    #if canImport(Glibc)
        explicit_bzero(base, buffer.count)
    #else
        memset_s(base, buffer.count, 0, buffer.count)
    #endif
}

extension String {
    func trimmingWhitespace() -> String {
        let scalars = unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
            let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })
        else { return "" }
        return String(scalars[first...last])
    }
}
