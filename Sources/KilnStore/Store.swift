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
    /// The batch that last tried the job (nil: none since it was queued or reclaimed).
    public var batch: Int?
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
public struct StoreError: CausedError, CodedError, Sendable {
    /// What kind of failure this is. New codes may be added without breaking clients.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable { case open, database, unwritable, invalidArgument }
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

/// A block kept by a store that shares blocks between machines (``PostgresStore``): its CID as text and its bytes.
/// The store does not know CIDs; whoever reads a block checks it against its CID.
public struct StoredBlock: Hashable, Sendable {
    /// The CID, as text.
    public var cid: String
    /// The block's bytes.
    public var bytes: [UInt8]

    /// A block.
    public init(cid: String, bytes: [UInt8]) {
        self.cid = cid
        self.bytes = bytes
    }
}

/// A `kiln worker` (or `kiln batch`) as the store last saw it: it writes a heartbeat while it runs.
public struct WorkerRecord: Hashable, Sendable {
    /// The lease owner name: `host:pid:started`.
    public var name: String
    /// The host it runs on.
    public var host: String
    /// When it started and when it was last seen (seconds since 1970).
    public var started: Double
    public var seen: Double
    /// `running`, `idle`, `stopping` or `stopped`.
    public var state: String
    /// How many jobs it has ended (any outcome) since it started.
    public var jobs: Int

    /// A worker record.
    public init(name: String, host: String, started: Double, seen: Double, state: String, jobs: Int) {
        self.name = name
        self.host = host
        self.started = started
        self.seen = seen
        self.state = state
        self.jobs = jobs
    }

    /// Whether the worker is alive at `now` (seconds since 1970): it has not stopped and was seen within
    /// `leaseSeconds` (it beats every 2 s; a lease outlives a dead worker by at most a lease period). The one rule
    /// for liveness: a coordinator keeps live workers' leases by it and `kiln status` reports by it.
    public func isAlive(at now: Double, leaseSeconds: Double) -> Bool {
        state != "stopped" && now - seen < leaseSeconds
    }
}

/// A leased job, as `kiln status` shows it.
public struct LeaseRecord: Hashable, Sendable {
    /// The job.
    public var jobId: Int64
    /// Its token.
    public var token: TokenKey
    /// Who holds the lease, and until when (seconds since 1970).
    public var owner: String
    public var until: Double
}

/// The store's batch lock, held until released or the object is dropped (and by the operating system or the
/// database until the process ends, however it ends: a killed coordinator never leaves the store locked).
public final class StoreLock: Sendable {
    /// What is locked, for messages.
    public let description: String
    private let releaser: @Sendable () -> Void

    /// A lock that `release` lets go of.
    public init(description: String, release: @escaping @Sendable () -> Void) {
        self.description = description
        releaser = release
    }

    deinit { releaser() }
}

/// What the pipeline needs from persistence: ``SQLiteStore`` (one machine, the default) or ``PostgresStore``
/// (several workers on several machines, `FOR UPDATE SKIP LOCKED` leasing, blocks in the database).
///
/// Every call is one transaction: it happens completely or not at all.
public protocol Store: Sendable {
    /// Where the store is, for messages (a path, or a URL without its password).
    var location: String { get }
    /// Whether published blocks live in the store (PostgreSQL: every worker sees every block) rather than only
    /// in the local blockstore folder.
    var sharesBlocks: Bool { get }
    /// Takes the store's batch lock (one coordinator at a time), or returns nil when another process holds it.
    func tryLock() async throws(StoreError) -> StoreLock?

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
    /// How far an event source (a recorded-logs file, by its path) has been read: see ``SourceMark``.
    func sourceMark(_ source: String) async throws(StoreError) -> SourceMark?
    func setSourceMark(_ source: String, _ mark: SourceMark) async throws(StoreError)

    /// Queues a job unless one for the same token, state and template exists; returns it and whether it is new.
    func enqueue(
        _ token: TokenKey,
        stateVersion: Int,
        stateHash: Bytes32,
        templateHash: Bytes32,
        referenceBlock: UInt64
    ) async throws(StoreError) -> (job: Job, created: Bool)
    /// Leases up to `limit` runnable jobs (queued or no-quorum and not yet tried in `batch`, or leased with an
    /// expired lease) to `owner` until `now + seconds`, oldest first, and marks them tried in `batch`. With
    /// `batch`, nothing is leased unless that batch is open; with `only`, only those jobs. Two workers never get
    /// the same job.
    func lease(owner: String, limit: Int, seconds: Double, now: Double, batch: Int?, only: [Int64]?)
        async throws(StoreError) -> [Job]
    /// How many jobs `batch` still waits for: leased ones, and runnable ones not yet tried in it.
    func pendingJobs(batch: Int) async throws(StoreError) -> Int
    /// Returns the leased jobs of every owner but `keeping` to the queue, untried in any batch (a coordinator
    /// that holds the lock knows that no one else works on them, but for the workers it names).
    func reclaimLeases(keeping: Set<String>) async throws(StoreError) -> Int
    /// Extends the leases `owner` holds on `jobs` (the jobs it is working on now: a live worker's heartbeat) to
    /// `until`. Only those: a lease the owner holds without knowing it — the lease committed while the database
    /// went away before the answer came back — is left to expire, so another worker takes the job.
    /// Returns how many leases were renewed.
    func renewLeases(owner: String, jobs: [Int64], until: Double) async throws(StoreError) -> Int
    /// The leased jobs, oldest first.
    func leases() async throws(StoreError) -> [LeaseRecord]
    /// Queues the job again whatever its status (`kiln regen`).
    func requeue(jobId: Int64) async throws(StoreError)
    /// The job with this id.
    func job(id: Int64) async throws(StoreError) -> Job?
    /// The latest job of a token.
    func latestJob(_ token: TokenKey) async throws(StoreError) -> Job?
    /// Ends a leased job: `done`, `failed` (with the reason), or back to the queue as `noQuorum` (with the reason).
    func finish(jobId: Int64, owner: String, status: JobStatus, error: String?) async throws(StoreError)
    /// Counts jobs by status: all of them, or (`batch`) those that batch tried last.
    func jobCounts(batch: Int?) async throws(StoreError) -> [JobStatus: Int]
    /// The jobs with `status`, oldest first.
    func jobs(status: JobStatus) async throws(StoreError) -> [Job]

    /// The open batch's number, or a new batch opened now (numbers count up from 1).
    func openBatch() async throws(StoreError) -> (number: Int, resumed: Bool)
    /// The open batch, if any.
    func currentBatch() async throws(StoreError) -> Int?
    /// Closes the batch; a batch that published nothing is dropped, so its number is used again.
    func closeBatch(_ number: Int) async throws(StoreError)
    /// Records a publication and marks its leased job done, in one transaction. A store that ``sharesBlocks``
    /// keeps `blocks` (the job's new blocks) in the same transaction; others ignore them.
    func complete(_ publication: Publication, owner: String, blocks: [StoredBlock]) async throws(StoreError)
    /// The publications of one batch, or all of them (`batch` nil), oldest first.
    func publications(batch: Int?) async throws(StoreError) -> [Publication]
    /// The token's latest publication.
    func latestPublication(_ token: TokenKey) async throws(StoreError) -> Publication?

    /// Keeps `blocks` (a no-op unless the store ``sharesBlocks``): the templates a coordinator imports.
    func keep(_ blocks: [StoredBlock]) async throws(StoreError)
    /// The CIDs of every block the store keeps (none unless it ``sharesBlocks``).
    func blockCIDs() async throws(StoreError) -> [String]
    /// The blocks with these CIDs that the store keeps.
    func blocks(_ cids: [String]) async throws(StoreError) -> [StoredBlock]

    /// Records that a batch is to be pushed to each of `targets` (an IPFS provider, or a retrieval check), unless
    /// already recorded.
    func addPushes(batch: Int, root: String, car: String, targets: [String], now: Double) async throws(StoreError)
    /// Every push recorded, by batch then target.
    func pushes() async throws(StoreError) -> [IPFSPush]
    /// Saves a push's new status.
    func savePush(_ push: IPFSPush) async throws(StoreError)

    /// Records that a worker is alive (and what it is doing).
    func heartbeat(_ worker: WorkerRecord) async throws(StoreError)
    /// Every worker seen, most recently seen first.
    func workers() async throws(StoreError) -> [WorkerRecord]
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

    /// Leases up to `limit` runnable jobs, whatever batch tried them before.
    public func lease(owner: String, limit: Int, seconds: Double, now: Double) async throws(StoreError) -> [Job] {
        try await lease(owner: owner, limit: limit, seconds: seconds, now: now, batch: nil, only: nil)
    }

    /// Records a publication and marks its leased job done (no blocks to keep).
    public func complete(_ publication: Publication, owner: String) async throws(StoreError) {
        try await complete(publication, owner: owner, blocks: [])
    }

    /// Counts every job by status.
    public func jobCounts() async throws(StoreError) -> [JobStatus: Int] { try await jobCounts(batch: nil) }

    /// Returns every leased job to the queue.
    public func reclaimLeases() async throws(StoreError) -> Int { try await reclaimLeases(keeping: []) }

    /// Waits (polling, so no thread is blocked) until the batch lock is free, then takes it.
    public func waitForLock(poll: Duration = .milliseconds(200)) async throws -> StoreLock {
        while true {
            if let lock = try await tryLock() { return lock }
            try await Task.sleep(for: poll)
        }
    }
}

/// How much of a recorded-logs file a batch has read: the bytes up to `offset` (whole lines), how many lines
/// they hold, and their SHA-256. The next batch parses only what follows, unless the file changed before `offset`.
public struct SourceMark: Hashable, Sendable {
    public var offset: Int64
    public var lines: Int64
    public var prefixHash: Bytes32

    public init(offset: Int64, lines: Int64, prefixHash: Bytes32) {
        self.offset = offset
        self.lines = lines
        self.prefixHash = prefixHash
    }
}

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
