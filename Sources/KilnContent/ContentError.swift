// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

/// An error from content addressing: parsing CIDs, building DAGs, reading or writing blocks and CAR files.
public struct ContentError: CausedError, CodedError, Hashable, Sendable {
    /// What kind of failure this is. New codes may be added without breaking clients.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case invalidVarint, invalidMultibase, invalidMultihash, invalidCID, unsupported
            case invalidBlock, blockNotFound, blockMismatch, hamtRequired, io, invalidCAR
        }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// A varint is truncated, longer than 9 bytes, or not minimally encoded.
        public static let invalidVarint = Code(.invalidVarint)
        /// Text is not valid base32 / base58btc, or has an unknown multibase prefix.
        public static let invalidMultibase = Code(.invalidMultibase)
        /// A multihash's length does not match its digest, or its function is unknown.
        public static let invalidMultihash = Code(.invalidMultihash)
        /// A CID is malformed (version, codec, trailing bytes, wrong length).
        public static let invalidCID = Code(.invalidCID)
        /// Valid, but Kiln does not handle it (a codec or hash function it doesn't know).
        public static let unsupported = Code(.unsupported)
        /// A dag-pb or UnixFS block can't be decoded.
        public static let invalidBlock = Code(.invalidBlock)
        /// The blockstore has no block for a CID.
        public static let blockNotFound = Code(.blockNotFound)
        /// A block's bytes don't hash to its CID.
        public static let blockMismatch = Code(.blockMismatch)
        /// A directory too large for a plain UnixFS directory (kubo would shard it as a HAMT).
        public static let hamtRequired = Code(.hamtRequired)
        /// A file or folder can't be read or written.
        public static let io = Code(.io)
        /// A CAR file is malformed; the message gives the byte offset.
        public static let invalidCAR = Code(.invalidCAR)

        /// The code's name.
        public var description: String { String(describing: wrapped) }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What failed, starting with the operation.
    public var message: String
    /// For CAR errors: the byte offset of the section (or header) at fault.
    public var offset: Int?
    /// For `io` errors: whether the disk refused the write (full, read-only, …; see
    /// `AtomicFile.WriteError.isEnvironmental`), so that retrying helps only once someone acts.
    public var isEnvironmental = false
    /// The error this one wraps, if any.
    public var cause: (any Error)?

    /// An error with a code, a message, for CAR files the byte offset of the bad section, and optionally its cause.
    public init(_ code: Code, _ message: String, offset: Int? = nil, cause: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.offset = offset
        self.cause = cause
    }

    /// The message.
    public var description: String { message }
    /// The code's name.
    public var codeName: String { code.description }

    /// Equal when everything but the cause is (the cause is context).
    public static func == (lhs: ContentError, rhs: ContentError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.offset == rhs.offset
            && lhs.isEnvironmental == rhs.isEnvironmental
    }
    /// Hashes code, message and offset.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(offset)
    }
}
