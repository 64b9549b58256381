// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

/// An error from signing, recovering or loading a key. Messages never contain key material.
public struct CryptoError: CausedError, CodedError, Hashable, Sendable {
    /// What kind of failure this is. New codes may be added without breaking clients.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case invalidPrivateKey, invalidSignature, highS, recoveryFailed, keyFile
        }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// Not a valid secp256k1 secret (zero, ≥ the curve order, or not 32 bytes).
        public static let invalidPrivateKey = Code(.invalidPrivateKey)
        /// A signature is malformed: wrong length, bad `v`, `r` or `s` out of range.
        public static let invalidSignature = Code(.invalidSignature)
        /// `s` is in the upper half of the curve order: a malleable signature, rejected as Ethereum does.
        public static let highS = Code(.highS)
        /// No public key recovers from the signature and digest.
        public static let recoveryFailed = Code(.recoveryFailed)
        /// A key file is unreadable, has unsafe permissions or holds no key.
        public static let keyFile = Code(.keyFile)

        public var description: String { String(describing: wrapped) }
    }

    public var code: Code
    public var message: String
    public var file: String
    public var line: Int
    /// The error this one wraps, if any.
    public var cause: (any Error)?

    public init(_ code: Code, _ message: String, cause: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.cause = cause
        self.file = file
        self.line = line
    }

    public var description: String { message }
    /// The code's name.
    public var codeName: String { code.description }

    public static func == (lhs: CryptoError, rhs: CryptoError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
    }
}
