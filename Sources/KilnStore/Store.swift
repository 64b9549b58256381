// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

/// A token as the store keys it: chain, contract, id (decimal text, any size).
public struct TokenKey: Hashable, Sendable, CustomStringConvertible {
    public var chainId: UInt64
    public var contract: Address
    public var tokenId: String

    public init(chainId: UInt64, contract: Address, tokenId: String) {
        self.chainId = chainId
        self.contract = contract
        self.tokenId = tokenId
    }

    public var description: String { "\(chainId):\(contract.checksummed)#\(tokenId)" }
}

/// A job's life: queued → leased → done, or back to queued (failure to retry, quorum not reached), or failed.
public enum JobStatus: String, Sendable, CaseIterable {
    case queued, leased, done, failed
    /// Quorum not reached: queued again for the next run, with the reason kept.
    case noQuorum = "no_quorum"
}

/// Render one token at one state with one template version.
public struct Job: Hashable, Sendable {
    public var id: Int64
    public var token: TokenKey
    public var stateVersion: Int
    public var stateHash: Bytes32
    public var templateHash: Bytes32
    public var status: JobStatus
    public var attempts: Int
    public var lastError: String?
    /// The block whose stake table and signatures the job's inference round uses.
    public var referenceBlock: UInt64 = 0
}

/// One token published by a batch: the CIDs of its media and of its provenance.
public struct Publication: Hashable, Sendable {
    public var jobId: Int64
    public var batch: Int
    public var token: TokenKey
    public var stateHash: Bytes32
    public var templateHash: Bytes32
    /// The token directory `{image.png, thumb.jpg, metadata.json}` and its files (CIDs as text).
    public var directory: String
    public var metadata: String
    public var image: String
    public var thumbnail: String
    /// The accepted inference output and the attestation bundle (nil for templates without inference).
    public var inference: String?
    public var attestation: String?
    /// The template folder as published.
    public var template: String

    public init(
        jobId: Int64,
        batch: Int,
        token: TokenKey,
        stateHash: Bytes32,
        templateHash: Bytes32,
        directory: String,
        metadata: String,
        image: String,
        thumbnail: String,
        inference: String?,
        attestation: String?,
        template: String
    ) {
        self.jobId = jobId
        self.batch = batch
        self.token = token
        self.stateHash = stateHash
        self.templateHash = templateHash
        self.directory = directory
        self.metadata = metadata
        self.image = image
        self.thumbnail = thumbnail
        self.inference = inference
        self.attestation = attestation
        self.template = template
    }
}

/// A token's state at one version, as stored.
public struct StoredState: Hashable, Sendable {
    public var version: Int
    public var json: JSONValue
    public var hash: Bytes32
}

/// A store error: a code to match on, the operation that failed and why, the database's own error as the cause,
/// and where in Kiln's source it was raised (swift-nio's `FileSystemError` shape).
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is. New codes may be added without breaking clients.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable { case open, database, invalidArgument }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }
        /// The store could not be opened or migrated.
        public static let open = Code(.open)
        /// A query or transaction failed (the cause is the database's error).
        public static let database = Code(.database)
        /// A value handed to the store is not one it can keep.
        public static let invalidArgument = Code(.invalidArgument)
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
}

/// What the pipeline needs from persistence. SQLite via GRDB is the implementation here; a PostgreSQL one
/// (`FOR UPDATE SKIP LOCKED` leasing) can follow without touching the pipeline.
///
/// Every call is one transaction: it happens completely or not at all.
public protocol Store: Sendable {
    /// The last block whose logs are recorded for `chainId`, and its hash.
    func cursor(chainId: UInt64) async throws(StoreError) -> (block: UInt64, hash: Bytes32)?
    /// Records logs and moves the cursor, atomically. A log seen before (same block hash and index) takes the new
    /// `removed` flag (a block that comes back after a reorganisation, or a node's `removed: true`).
    func record(_ logs: [EventLog], chainId: UInt64, cursor: (block: UInt64, hash: Bytes32)) async throws(StoreError)
    /// Marks every log of the blocks after `block` as removed (a reorganisation) and rewinds the cursor.
    func rewind(chainId: UInt64, to block: UInt64, hash: Bytes32) async throws(StoreError)
    /// The distinct (block, hash) pairs of recorded, not removed logs below `block`, newest first: where to look
    /// for the common ancestor after a reorganisation.
    func blockHashes(chainId: UInt64, below block: UInt64, limit: Int) async throws(StoreError) -> [(
        block: UInt64, hash: Bytes32
    )]
    /// The logs of `contract` that are not removed, in chain order.
    func logs(chainId: UInt64, contract: Address) async throws(StoreError) -> [EventLog]

    /// Saves `state` as the token's next version when its hash differs from the latest; returns the version.
    func saveState(_ token: TokenKey, json: JSONValue, hash: Bytes32) async throws(StoreError) -> (
        version: Int, changed: Bool
    )
    /// The token's latest state (or the given version).
    func state(_ token: TokenKey, version: Int?) async throws(StoreError) -> StoredState?
    /// The ids of every token of `contract` with a stored state.
    func tokenIds(chainId: UInt64, contract: Address) async throws(StoreError) -> [String]
    /// How far the contract's token states are folded: the template content hash and the last block included.
    func foldMark(chainId: UInt64, contract: Address) async throws(StoreError) -> (
        templateHash: Bytes32, block: UInt64
    )?
    func setFoldMark(chainId: UInt64, contract: Address, templateHash: Bytes32, block: UInt64) async throws(StoreError)

    /// Queues a job unless one for the same token, state and template exists; returns it and whether it is new.
    func enqueue(
        _ token: TokenKey,
        stateVersion: Int,
        stateHash: Bytes32,
        templateHash: Bytes32,
        referenceBlock: UInt64
    ) async throws(StoreError) -> (job: Job, created: Bool)
    /// Leases up to `limit` runnable jobs with an id above `afterId` (queued, no-quorum, or leased with an
    /// expired lease) to `owner` until `now + seconds`. Two workers never get the same job.
    func lease(owner: String, limit: Int, seconds: Double, now: Double, afterId: Int64) async throws(StoreError)
        -> [Job]
    /// Returns every leased job to the queue (a batch that holds the store's lock knows no one else works on it).
    func reclaimLeases() async throws(StoreError) -> Int
    /// Queues the job again whatever its status (`kiln regen`).
    func requeue(jobId: Int64) async throws(StoreError)
    /// The job with this id.
    func job(id: Int64) async throws(StoreError) -> Job?
    /// The latest job of a token.
    func latestJob(_ token: TokenKey) async throws(StoreError) -> Job?
    /// Ends a leased job: `done`, `failed` (with the reason), or back to the queue as `noQuorum` (with the reason).
    func finish(jobId: Int64, owner: String, status: JobStatus, error: String?) async throws(StoreError)
    /// Counts jobs by status.
    func jobCounts() async throws(StoreError) -> [JobStatus: Int]
    /// The jobs with `status`, oldest first.
    func jobs(status: JobStatus) async throws(StoreError) -> [Job]

    /// The open batch's number, or a new batch opened now (numbers count up from 1).
    func openBatch() async throws(StoreError) -> (number: Int, resumed: Bool)
    /// The open batch, if any.
    func currentBatch() async throws(StoreError) -> Int?
    /// Closes the batch; a batch that published nothing is dropped, so its number is used again.
    func closeBatch(_ number: Int) async throws(StoreError)
    /// Records a publication and marks its leased job done, in one transaction.
    func complete(_ publication: Publication, owner: String) async throws(StoreError)
    /// The publications of one batch, or all of them (`batch` nil), oldest first.
    func publications(batch: Int?) async throws(StoreError) -> [Publication]
    /// The token's latest publication.
    func latestPublication(_ token: TokenKey) async throws(StoreError) -> Publication?
}

extension Store {
    public func enqueue(_ token: TokenKey, stateVersion: Int, stateHash: Bytes32, templateHash: Bytes32)
        async throws(StoreError) -> (job: Job, created: Bool)
    {
        try await enqueue(
            token,
            stateVersion: stateVersion,
            stateHash: stateHash,
            templateHash: templateHash,
            referenceBlock: 0
        )
    }

    public func lease(owner: String, limit: Int, seconds: Double, now: Double) async throws(StoreError) -> [Job] {
        try await lease(owner: owner, limit: limit, seconds: seconds, now: now, afterId: 0)
    }
}
