// Kiln — Apache-2.0. See LICENSE.

/// A batch's publication to one IPFS provider (or its retrieval check), as `kiln status` shows it: kept until
/// confirmed, and tried again by every run until then.
public struct IPFSPush: Hashable, Sendable {
    /// Where a push stands.
    public enum Status: String, Sendable, CaseIterable {
        /// Not sent yet, or to be sent again (after an error).
        case pending
        /// A pinning service has the request and has not pinned it yet (`queued` or `pinning`).
        case queued
        /// Confirmed: kubo imported and pinned the roots, or the pinning service answered `pinned`.
        case pinned
        /// The provider refused or failed it (`failed`): sent again by the next run.
        case failed
        /// The retrieval check fetched every block and found the DAGs complete.
        case verified

        /// Whether nothing more is to be done.
        public var confirmed: Bool { self == .pinned || self == .verified }
    }

    /// The batch and the target (`kubo URL`, `pinning URL` or `check URL`).
    public var batch: Int
    public var target: String
    /// The batch's root CID and its CAR file.
    public var root: String
    public var car: String
    public var status: Status
    /// A pinning service's request id.
    public var requestId: String?
    /// How many times it was sent or checked.
    public var attempts: Int
    /// The last error (never a secret).
    public var lastError: String?
    /// When it last changed (seconds since 1970).
    public var updated: Double

    public init(
        batch: Int,
        target: String,
        root: String,
        car: String,
        status: Status,
        requestId: String? = nil,
        attempts: Int = 0,
        lastError: String? = nil,
        updated: Double
    ) {
        self.batch = batch
        self.target = target
        self.root = root
        self.car = car
        self.status = status
        self.requestId = requestId
        self.attempts = attempts
        self.lastError = lastError
        self.updated = updated
    }
}
