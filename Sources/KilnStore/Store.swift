// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
public import NIOCore

/// What every store is: where it is, whether it keeps blocks, and the batch lock.
public protocol StoreBase: Sendable {
    /// Where the store is, for messages (a path, or a URL without its password).
    var location: String { get }
    /// Whether published blocks live in the store (PostgreSQL: every worker sees every block) rather than only
    /// in the local blockstore folder.
    var sharesBlocks: Bool { get }
    /// Takes the store's batch lock (one coordinator at a time), or returns nil when another process holds it.
    func tryLock() async throws(StoreError) -> StoreLock?
}

/// Events and state: the logs recorded from the chain (cursor, reorganisations), each token's state versions,
/// how far each contract's states are folded, and how far each recorded-logs file was read.
public protocol ChainStore: Sendable {
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
    /// The logs of `contract` that are not removed, in chain order: all of them, or (`after`) those of later blocks.
    func logs(chainId: UInt64, contract: Address, after block: UInt64?) async throws(StoreError) -> [EventLog]
    /// The logs of `contract` that are not removed and whose topic at one of `positions` (1…3) is `word` — those
    /// that can name one token, when every event rule's token parameter is indexed — in chain order. An index
    /// lookup per position, whatever the number of logs.
    func logs(chainId: UInt64, contract: Address, naming word: Bytes32, at positions: Set<Int>)
        async throws(StoreError) -> [EventLog]
    /// Saves `state` as the token's next version when its hash differs from the latest; returns the version.
    func saveState(_ token: TokenKey, json: JSONValue, hash: Bytes32) async throws(StoreError) -> (
        version: Int, changed: Bool
    )
    /// The token's latest state (or the given version).
    func state(_ token: TokenKey, version: Int?) async throws(StoreError) -> StoredState?
    /// Every token of `contract` with a stored state, by id.
    func tokens(chainId: UInt64, contract: Address) async throws(StoreError) -> [TokenKey]
    /// How far the contract's token states are folded: the template content hash and the last block included.
    func foldMark(chainId: UInt64, contract: Address) async throws(StoreError) -> (
        templateHash: Bytes32, block: UInt64
    )?
    func setFoldMark(chainId: UInt64, contract: Address, templateHash: Bytes32, block: UInt64) async throws(StoreError)
    /// How far an event source (a recorded-logs file, by its path) has been read: see ``SourceMark``.
    func sourceMark(_ source: String) async throws(StoreError) -> SourceMark?
    func setSourceMark(_ source: String, _ mark: SourceMark) async throws(StoreError)
}

/// Jobs and leases: the queue, leasing with expiry (no two workers get one job), outcomes, and the workers'
/// heartbeats the leases are kept by (``WorkerRecord/isAlive(at:leaseSeconds:)``).
public protocol JobStore: Sendable {
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
    /// How many jobs are queued, without quorum or leased: an index range of those statuses, not a count of every
    /// job ever done.
    func unfinishedJobs() async throws(StoreError) -> Int
    /// The jobs with `status`, oldest first.
    func jobs(status: JobStatus) async throws(StoreError) -> [Job]
    /// Records that a worker is alive (and what it is doing).
    func heartbeat(_ worker: WorkerRecord) async throws(StoreError)
    /// Every worker seen, most recently seen first.
    func workers() async throws(StoreError) -> [WorkerRecord]
}

/// Batches and publications: opening and closing batches, and each job's publication recorded with its job's end.
public protocol PublicationStore: Sendable {
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
    /// Every publication of one token, oldest first (its history: an index lookup, whatever the store's size).
    func publications(of token: TokenKey) async throws(StoreError) -> [Publication]
    /// A page of one collection's tokens, each with its latest publication, in token-id order (``TokenPage``).
    func latestPublications(chainId: UInt64, contract: Address, page: TokenPage) async throws(StoreError)
        -> [Publication]
    /// What one collection has published (zeros when nothing): one row, kept by each publication.
    func published(chainId: UInt64, contract: Address) async throws(StoreError) -> PublishedTotals
    /// What the whole store has published: the sum of its collections' rows.
    func publishedTotals() async throws(StoreError) -> PublishedTotals
    /// Every collection with a publication.
    func publishedCollections() async throws(StoreError) -> [(chainId: UInt64, contract: Address)]
    /// One collection's publications ordered by token id as text, then oldest first: `limit` of them after
    /// `after` (from the start when nil), each with the cursor to pass for the next page. A page is an index range,
    /// so writing every token's history (`manifest.json`) holds one page in memory, not the collection.
    func publicationsByToken(chainId: UInt64, contract: Address, after: PublicationCursor?, limit: Int)
        async throws(StoreError) -> [(cursor: PublicationCursor, publication: Publication)]
    /// The publications whose row comes after `row`, oldest first, at most `limit`, each with its row: what was
    /// published since an output file was written (``OutputMark``). A seek on the primary key.
    func publications(afterRow row: Int64, limit: Int) async throws(StoreError)
        -> [(row: Int64, publication: Publication)]
    /// What the output file named `name` (its path) holds, as recorded when it was written: see ``OutputMark``.
    func outputMark(_ name: String) async throws(StoreError) -> OutputMark?
    func setOutputMark(_ name: String, _ mark: OutputMark) async throws(StoreError)
}

/// A store that can read its count of publications (``PublishedTotals/publications``) on the calling thread, without
/// waiting for a lock or a thread — for `kiln serve`'s event loops, which check before each turn's kept answers that
/// nothing was published since they were kept. SQLite (WAL mode: readers never wait for writers); a store whose
/// reads travel (PostgreSQL) counts on the loop instead (``LoopPublicationCounting``).
public protocol PublicationCounting: Sendable {
    /// The count now; an error (a busy file, a closed store) rather than a wait.
    func countPublicationsNow() throws(StoreError) -> Int
}

/// A store that reads its count of publications over a connection of its own on a NIO event loop, the answer
/// coming back on that loop — for `kiln serve`'s event loops on PostgreSQL, where a check through the pool and a
/// task costs more thread hops than the query itself.
public protocol LoopPublicationCounting: Sendable {
    /// The count read by a query that starts now, on `loop`'s own connection (made when first asked for, and again
    /// after a failure); the future completes on `loop`, failed with a ``StoreError``.
    func countPublications(on loop: any EventLoop) -> EventLoopFuture<Int>
}

/// Blocks kept in the store itself, for a store that ``StoreBase/sharesBlocks`` (PostgreSQL: every worker sees
/// every block); the others keep none.
public protocol BlockKeeping: Sendable {
    /// Keeps `blocks` (a no-op unless the store ``sharesBlocks``): the templates a coordinator imports.
    func keep(_ blocks: [StoredBlock]) async throws(StoreError)
    /// The CIDs of every block the store keeps (none unless it ``sharesBlocks``).
    func blockCIDs() async throws(StoreError) -> [String]
    /// The blocks with these CIDs that the store keeps.
    func blocks(_ cids: [String]) async throws(StoreError) -> [StoredBlock]
}

/// Pushes of batches to IPFS providers (and retrieval checks), kept until confirmed.
public protocol PushStore: Sendable {
    /// Records that a batch is to be pushed to each of `targets` (an IPFS provider, or a retrieval check), unless
    /// already recorded.
    func addPushes(batch: Int, root: String, car: String, targets: [String], now: Double) async throws(StoreError)
    /// Every push recorded, by batch then target.
    func pushes() async throws(StoreError) -> [IPFSPush]
    /// Saves a push's new status.
    func savePush(_ push: IPFSPush) async throws(StoreError)
}

/// What the pipeline needs from persistence: ``SQLiteStore`` (one machine, the default) or ``PostgresStore``
/// (several workers on several machines, `FOR UPDATE SKIP LOCKED` leasing, blocks in the database).
///
/// Every call is one transaction: it happens completely or not at all. The requirements come in roles (events and
/// state, jobs and leases, batches and publications, blocks, pushes); code that needs one role can ask for it alone.
public typealias Store = StoreBase & ChainStore & JobStore & PublicationStore & BlockKeeping & PushStore & RunStore

/// How the coordinator's runs ended (``RunRecord``): the last one, and the last clean one.
public protocol RunStore: Sendable {
    /// Keeps `run` as the last run, and as the last clean one when its exit status is 0.
    func recordRun(_ run: RunRecord) async throws(StoreError)
    /// The last run and the last clean run, if any.
    func runs() async throws(StoreError) -> RunHistory
}

extension JobStore {
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

    /// Counts every job by status.
    public func jobCounts() async throws(StoreError) -> [JobStatus: Int] { try await jobCounts(batch: nil) }

    /// Returns every leased job to the queue.
    public func reclaimLeases() async throws(StoreError) -> Int { try await reclaimLeases(keeping: []) }
}

extension ChainStore {
    /// Every log of `contract` that is not removed, in chain order.
    public func logs(chainId: UInt64, contract: Address) async throws(StoreError) -> [EventLog] {
        try await logs(chainId: chainId, contract: contract, after: nil)
    }
}

/// The statements that sum existing publications into `published_tokens` and `published_collections` (both
/// stores' migration; `scripts/bench/scale_store.py` runs the same after its bulk rows).
let publishedRowsFromPublications = """
    INSERT INTO published_tokens (chain_id, contract, id_length, token_id, publication, versions)
        SELECT chain_id, contract, length(token_id), token_id, max(id), count(*) FROM publications
        GROUP BY chain_id, contract, token_id;
    INSERT INTO published_collections (chain_id, contract, tokens, publications, last_batch)
        SELECT chain_id, contract, count(DISTINCT token_id), count(*), max(batch) FROM publications
        GROUP BY chain_id, contract;
    """

/// Where topic `position` (0…3) starts in the `events.topics` text (`0x…,0x…`: 66 characters and a comma each),
/// 1-based as SQL's `substr` counts: the expression of the stores' topic indexes.
public func topicStart(_ position: Int) -> Int { 1 + 67 * position }

extension PublicationStore {
    /// Records a publication and marks its leased job done (no blocks to keep).
    public func complete(_ publication: Publication, owner: String) async throws(StoreError) {
        try await complete(publication, owner: owner, blocks: [])
    }
}

extension StoreBase {
    /// Waits (polling, so no thread is blocked) until the batch lock is free, then takes it.
    public func waitForLock(poll: Duration = .milliseconds(200)) async throws -> StoreLock {
        while true {
            if let lock = try await tryLock() { return lock }
            try await Task.sleep(for: poll)
        }
    }
}
