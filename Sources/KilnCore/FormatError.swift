// Kiln — Apache-2.0. See LICENSE.

/// An error raised while parsing or decoding one of the formats Kiln reads: hex, addresses, JSON, ABI.
///
/// Every error carries a ``Code`` to match on, a human message that starts with the operation and
/// names its subject in quotes, and the source location that raised it.
///
/// ```swift
/// do { _ = try Hex.decode("0xabc") } catch let error as FormatError where error.code == .oddLength { … }
/// ```
public struct FormatError: CausedError, CodedError, Hashable, Sendable {
    /// What kind of failure this is. New codes may be added without breaking clients.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case missingPrefix, oddLength, invalidDigit, overflow, leadingZero, empty
            case wrongLength, badChecksum
            case invalidJSON, unsupportedJSON
            case invalidSignature, unsupportedType, topicCount, shortData, offsetOutOfRange
            case invalidValue, invalidUTF8, topicMismatch
            case invalidTypedData
        }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// Hex text lacks its `0x` prefix.
        public static let missingPrefix = Code(.missingPrefix)
        /// Hex text has an odd number of digits where bytes were expected.
        public static let oddLength = Code(.oddLength)
        /// A character is not a hex digit (or not a decimal digit, where one was expected).
        public static let invalidDigit = Code(.invalidDigit)
        /// A number does not fit the type it is read into.
        public static let overflow = Code(.overflow)
        /// A JSON-RPC quantity has a leading zero digit.
        public static let leadingZero = Code(.leadingZero)
        /// A value that must not be empty is empty (for example the quantity `0x`).
        public static let empty = Code(.empty)
        /// A fixed-size value has the wrong number of bytes.
        public static let wrongLength = Code(.wrongLength)
        /// A mixed-case address does not match its EIP-55 checksum.
        public static let badChecksum = Code(.badChecksum)
        /// Text is not valid JSON.
        public static let invalidJSON = Code(.invalidJSON)
        /// JSON is valid but holds something Kiln will not hash (for example a non-finite number).
        public static let unsupportedJSON = Code(.unsupportedJSON)
        /// A Solidity event or type signature cannot be parsed.
        public static let invalidSignature = Code(.invalidSignature)
        /// A Solidity type is not supported in this position.
        public static let unsupportedType = Code(.unsupportedType)
        /// A log has a different number of topics than its event declares.
        public static let topicCount = Code(.topicCount)
        /// Log data ends before a value it must hold.
        public static let shortData = Code(.shortData)
        /// A dynamic value's offset or length points outside the log data.
        public static let offsetOutOfRange = Code(.offsetOutOfRange)
        /// A word holds a value that its type cannot have (bad padding, a bool other than 0 or 1, …).
        public static let invalidValue = Code(.invalidValue)
        /// A `string` value is not valid UTF-8.
        public static let invalidUTF8 = Code(.invalidUTF8)
        /// A log's first topic is not the event's topic0.
        public static let topicMismatch = Code(.topicMismatch)
        /// An EIP-712 struct or its values do not match.
        public static let invalidTypedData = Code(.invalidTypedData)

        /// The code's name.
        public var description: String { String(describing: wrapped) }
    }

    /// Where in Kiln's source the error was raised.
    public struct SourceLocation: Hashable, Sendable {
        /// The source file (`#fileID`).
        public var file: String
        /// The line.
        public var line: Int
        /// A location.
        public init(file: String, line: Int) {
            self.file = file
            self.line = line
        }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What failed, starting with the operation, its subject in quotes.
    public var message: String
    /// Where in Kiln's source it was raised.
    public var location: SourceLocation
    /// The error this one wraps, if any.
    public var cause: (any Error)?

    /// An error with a code, a message and, optionally, its cause; the location is the caller's.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.cause = cause
        self.location = SourceLocation(file: file, line: line)
    }

    /// The message.
    public var description: String { message }
    /// The code's name.
    public var codeName: String { code.description }

    /// The same error with `prefix` put before its message, to add the context of an outer operation.
    public func context(_ prefix: String) -> FormatError {
        var copy = self
        copy.message = prefix + ": " + message
        return copy
    }

    /// Equal when code and message are (the location is context).
    public static func == (lhs: FormatError, rhs: FormatError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }
    /// Hashes code and message.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
    }
}
