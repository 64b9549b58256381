// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

/// An error of the pipeline: a code to match on, a message that says what failed and where (`file:line:col` for
/// input files), the error that caused it, if any, and the place in Kiln's source that raised it — the shape of
/// swift-nio's `FileSystemError`.
///
/// ```swift
/// do { _ = try Configuration(path: "kiln.yml", environment: [:]) }
/// catch let error where error.code == .configuration { print(error) }
/// ```
public struct PipelineError: CausedError, CodedError, Sendable {
    /// What kind of failure this is. New codes may be added without breaking clients.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case configuration, input, notFound, io, chain, failed
        }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// `kiln.yml`, a flag or a `KILN_*` variable is wrong.
        public static let configuration = Code(.configuration)
        /// An input the pipeline reads (events, metadata, a bundle) is malformed.
        public static let input = Code(.input)
        /// A token, publication or block that was asked for does not exist.
        public static let notFound = Code(.notFound)
        /// Reading or writing a file failed.
        public static let io = Code(.io)
        /// The chain (JSON-RPC) failed or answered something unexpected.
        public static let chain = Code(.chain)
        /// Any other failure of a pipeline step.
        public static let failed = Code(.failed)

        /// The code's name.
        public var description: String { String(describing: wrapped) }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What failed, for people.
    public var message: String
    /// The underlying error, kept rather than flattened into the message.
    public var cause: (any Error)?
    /// Where in Kiln's source the error was raised: `#fileID:#line` (as in the other modules' errors).
    public var location: String

    /// An error with a code, a message and, optionally, its cause.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.cause = cause
        location = "\(file):\(line)"
    }

    /// An error of code ``Code/failed``.
    public init(_ message: String, cause: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.init(.failed, message, cause: cause, file: file, line: line)
    }

    /// The message (the cause is already part of it where it helps the reader).
    public var description: String { message }
    /// The code's name.
    public var codeName: String { code.description }
}
