// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

/// An error from reading, writing or drawing an image. The message names the file (or "<memory>") and why.
public struct ImageError: CausedError, CodedError, Hashable, Sendable {
    /// What kind of failure this is. New codes may be added without breaking clients.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case unreadable, unknownFormat, tooLarge, corrupt, encodeFailed, invalidArgument, font
        }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// The file can't be read (missing, a folder, no permission).
        public static let unreadable = Code(.unreadable)
        /// Neither PNG nor JPEG.
        public static let unknownFormat = Code(.unknownFormat)
        /// Dimensions or pixel count above the configured ``ImageLimits``.
        public static let tooLarge = Code(.tooLarge)
        /// Truncated, corrupt or CRC-failing data, as libpng or libjpeg report it.
        public static let corrupt = Code(.corrupt)
        /// The encoder failed.
        public static let encodeFailed = Code(.encodeFailed)
        /// A size, quality, opacity or other argument out of range.
        public static let invalidArgument = Code(.invalidArgument)
        /// A bitmap font file is malformed.
        public static let font = Code(.font)

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

    public static func == (lhs: ImageError, rhs: ImageError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message
    }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
    }
}
