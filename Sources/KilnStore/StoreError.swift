// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

/// A store error: a code to match on, the operation that failed and why, the database's own error as the cause,
/// and where in Kiln's source it was raised (swift-nio's `FileSystemError` shape).
public struct StoreError: CausedError, CodedError, Sendable {
    /// What kind of failure this is. New codes may be added without breaking clients.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable { case open, database, unwritable, invalidArgument, fenced }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }
        /// The store could not be opened or migrated.
        public static let open = Code(.open)
        /// A query or transaction failed (the cause is the database's error).
        public static let database = Code(.database)
        /// The store's file or disk cannot take a write (full, read-only, an I/O error): trying again does not help
        /// until someone acts, unlike a dropped connection (``database``).
        public static let unwritable = Code(.unwritable)
        /// A value handed to the store is not one it can keep.
        public static let invalidArgument = Code(.invalidArgument)
        /// This process took the batch lock, lost it (its connection dropped) and another coordinator has taken it
        /// since: batches are no longer this process's to open or close. Final: trying again does not help.
        public static let fenced = Code(.fenced)
        public var description: String { String(describing: wrapped) }
    }

    /// What kind of failure this is.
    public var code: Code
    /// "Unable to …: reason".
    public var message: String
    /// The database's error, kept rather than flattened.
    public var cause: (any Error)?
    /// Where in Kiln's source the error was raised: `#fileID:#line`.
    public var location: String

    /// An error with a code, a message and, optionally, its cause.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.cause = cause
        location = "\(file):\(line)"
    }

    /// The message.
    public var description: String { message }
    /// The code's name.
    public var codeName: String { code.description }
}
