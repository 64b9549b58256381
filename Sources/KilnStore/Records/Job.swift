// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

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
