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
}

/// A store error: the operation and SQLite's reason.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// What the pipeline needs from persistence. SQLite via GRDB is the implementation here; a PostgreSQL one
/// (`FOR UPDATE SKIP LOCKED` leasing) can follow without touching the pipeline.
///
/// Every call is one transaction: it happens completely or not at all.
public protocol Store: Sendable {
    /// The last block whose logs are recorded for `chainId`, and its hash.
    func cursor(chainId: UInt64) throws(StoreError) -> (block: UInt64, hash: Bytes32)?
    /// Records logs and moves the cursor, atomically. A log seen before (same block hash and index) is ignored.
    func record(_ logs: [EventLog], chainId: UInt64, cursor: (block: UInt64, hash: Bytes32)) throws(StoreError)
    /// Marks every log of the blocks after `block` as removed (a reorganisation) and rewinds the cursor.
    func rewind(chainId: UInt64, to block: UInt64, hash: Bytes32) throws(StoreError)
    /// The logs of `contract` that are not removed, in chain order.
    func logs(chainId: UInt64, contract: Address) throws(StoreError) -> [EventLog]

    /// Saves `state` as the token's next version when its hash differs from the latest; returns the version.
    func saveState(_ token: TokenKey, json: JSONValue, hash: Bytes32) throws(StoreError) -> (version: Int, changed: Bool)
    /// Queues a job unless one for the same token, state and template exists; returns it and whether it is new.
    func enqueue(_ token: TokenKey, stateVersion: Int, stateHash: Bytes32, templateHash: Bytes32) throws(StoreError) -> (job: Job, created: Bool)
    /// Leases up to `limit` runnable jobs (queued, no-quorum, or leased with an expired lease) to `owner` until
    /// `now + seconds`. Two workers never get the same job.
    func lease(owner: String, limit: Int, seconds: Double, now: Double) throws(StoreError) -> [Job]
    /// Ends a leased job: `done`, `failed` (with the reason), or back to the queue as `noQuorum` (with the reason).
    func finish(jobId: Int64, owner: String, status: JobStatus, error: String?) throws(StoreError)
    /// Counts jobs by status.
    func jobCounts() throws(StoreError) -> [JobStatus: Int]
}
