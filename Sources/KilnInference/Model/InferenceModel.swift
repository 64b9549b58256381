// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

/// A model an inference node can run: JSON input → output bytes (an image file).
public protocol InferenceModel: Sendable {
    /// The model id, e.g. `kiln/cppn-v1`. Its Keccak-256 is the `modelId` operators sign.
    var id: String { get }
    /// A one-line description for `GET /v1/models`.
    var summary: String { get }
    /// Runs the model. Must be deterministic: the same input gives the same bytes on every machine.
    func run(input: JSONValue) async throws(InferenceError) -> [UInt8]
}

/// An error from running a model or talking to a node.
public struct InferenceError: CausedError, CodedError, Hashable, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable { case badInput, modelFailed, transport, badResponse, timeout }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }
        /// The input is not what the model takes.
        public static let badInput = Code(.badInput)
        /// The model (or its upstream server) failed.
        public static let modelFailed = Code(.modelFailed)
        /// The node could not be reached, or answered with an HTTP error.
        public static let transport = Code(.transport)
        /// The node answered with something that is not a valid job response.
        public static let badResponse = Code(.badResponse)
        /// No answer in time.
        public static let timeout = Code(.timeout)
        public var description: String { String(describing: wrapped) }
    }

    public var code: Code
    public var message: String
    /// How long the node asked to wait before trying again (its HTTP 429's `Retry-After`).
    public var retryAfter: Duration?
    /// The node's HTTP status, when it answered with one other than 200.
    public var status: UInt?
    /// What the node itself said about the error, when it answered with one (`message` adds the status).
    public var nodeMessage: String?
    /// The error this one wraps, if any.
    public var cause: (any Error)?

    public init(
        _ code: Code,
        _ message: String,
        retryAfter: Duration? = nil,
        status: UInt? = nil,
        cause: (any Error)? = nil
    ) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
        self.status = status
        self.cause = cause
    }

    /// Equal when everything but the cause is (the cause is context).
    public static func == (lhs: InferenceError, rhs: InferenceError) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.retryAfter == rhs.retryAfter
            && lhs.status == rhs.status
    }
    /// Hashes code, message and status.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(message)
        hasher.combine(status)
    }

    /// The code's name.
    public var codeName: String { code.description }

    /// A 4xx answer: the node's final word on this request (unless it ``asksForAnotherAttempt``).
    public var isClientError: Bool { status.map { (400..<500).contains($0) } ?? false }

    /// The node asked for the request again: 429 (busy: after `Retry-After`), or 408 (RFC 9110 §15.5.9: the node
    /// closed a connection it found idle — a client that had just reused it gets the 408 for its request — and the
    /// request may be repeated on a new connection).
    public var asksForAnotherAttempt: Bool { status == 429 || status == 408 }

    public var description: String { message }
}

extension InferenceModel {
    /// `keccak256(id)`: the `modelId` in an ``InferenceAttestation``.
    public var modelHash: Bytes32 { Keccak256.hash(utf8: id) }
}
