// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
internal import Crypto
internal import Foundation
public import KilnStore

/// Where a batch gets new logs: a file of recorded logs (``FileEventSource``) or a node's `eth_getLogs`
/// (``JSONRPCEventSource``).
public protocol EventSource: Sendable {
    /// The next logs after `block` (exclusive), at most up to `limit` blocks further, and the block reached.
    /// Returns `nil` when there is nothing new.
    func nextBatch(after block: UInt64?, limit: UInt64) async throws(PipelineError) -> (
        logs: [EventLog], through: (block: UInt64, hash: Bytes32)
    )?
    /// The hashes the chain has now for `blocks` (absent: no such block), to detect a reorganisation; a source
    /// that cannot tell (a file) returns nil.
    func currentHashes(of blocks: [UInt64]) async throws(PipelineError) -> [UInt64: Bytes32]?
    /// Fails when the source serves another chain than `chainId`; a source that cannot tell (a file) accepts.
    func check(chainId: UInt64) async throws(PipelineError)
    /// How far this source was read, for the store to keep once its logs are recorded (a file's ``SourceMark``);
    /// nil for a source that needs none.
    var readMark: (source: String, mark: SourceMark)? { get }
    /// The block whose stakes and signing keys the jobs of a state read through block `through` are checked
    /// against. On a chain it must be strictly below the head: a stake registry checks `referenceBlock <
    /// block.number`, and an `eth_call` at the latest block runs with `block.number` = the head.
    func referenceBlock(through: UInt64) -> UInt64
    /// How many blocks the chain is ahead of `through` once confirmations are left aside (head − confirmations −
    /// through, never below 0); nil for a source that has no head (a file).
    func lag(through: UInt64?) async throws(PipelineError) -> UInt64?
}

extension EventSource {
    /// By default a source cannot tell: nil.
    public func currentHashes(of blocks: [UInt64]) async throws(PipelineError) -> [UInt64: Bytes32]? { nil }
    /// By default a source accepts any chain.
    public func check(chainId: UInt64) async throws(PipelineError) {}
    /// By default nothing to keep.
    public var readMark: (source: String, mark: SourceMark)? { nil }
    /// By default the block read through (a recorded file's blocks are past).
    public func referenceBlock(through: UInt64) -> UInt64 { through }
    /// By default no head: nil.
    public func lag(through: UInt64?) async throws(PipelineError) -> UInt64? { nil }
}

/// Logs recorded one per line, exactly as `eth_getLogs` returns them (blank lines and `#` comments allowed).
/// Every line read is checked; a bad line is an error naming `file:line`, or, with `skippingMalformed`, a problem
/// listed in ``problems`` while the good lines are used.
///
/// Given the ``SourceMark`` of an earlier read, only what follows it is parsed, when the file still starts with
/// the bytes that mark hashes (a recorded file grows by appending); otherwise the whole file is read again.
public struct FileEventSource: EventSource {
    /// The file.
    public let path: String
    /// Its good lines read (after the mark, when one applied), in block order.
    public let logs: [EventLog]
    /// The lines skipped, each with its `file:line` as subject.
    public let problems: [Problem]
    /// Where the next read may start: the end of the last whole line read, and the hash of everything before it.
    public let readThrough: SourceMark
    /// Whether the given mark applied (only the bytes after it were parsed).
    public let resumed: Bool

    /// Reads and checks the lines of `path` (those after `mark`, when it still applies).
    /// - Throws: ``PipelineError`` naming `file:line` for a bad line (unless `skippingMalformed`), or an unreadable file.
    public init(path: String, skippingMalformed: Bool = false, after mark: SourceMark? = nil) throws(PipelineError) {
        guard let bytes = try? FileBytes.read(path) else { throw PipelineError("Unable to read events file '\(path)'") }
        var start = 0
        var linesBefore = 0
        // One pass of SHA-256 over the file serves both the check of the old mark and the new one.
        var hasher = SHA256()
        if let mark, mark.offset >= 0, mark.offset <= Int64(bytes.count) {
            hasher.update(data: bytes[..<Int(mark.offset)])
            if Self.digest(hasher) == mark.prefixHash {
                start = Int(mark.offset)
                linesBefore = Int(mark.lines)
            } else {
                hasher = SHA256()
            }
        }
        resumed = start > 0
        var logs: [EventLog] = []
        var problems: [Problem] = []
        let lineCount = try EventLog.forEachRecorded(in: bytes[start...], firstLine: linesBefore + 1) {
            (line, read) throws(PipelineError) in
            let reason: FormatError
            switch read {
            case .success(let log) where log.blockNumber != nil && log.blockHash != nil && log.logIndex != nil:
                logs.append(log)
                return
            case .success:
                reason = FormatError(.invalidJSON, "a recorded log needs blockNumber, blockHash and logIndex")
            case .failure(let error):
                reason = error
            }
            let problem = Problem(.input, "\(path):\(line)", reason.message, cause: reason)
            guard skippingMalformed else { throw PipelineError(.input, problem.description, cause: reason) }
            problems.append(problem)
        }
        let lineNumber = linesBefore + lineCount
        // The mark ends after the last newline: a last line still being written is read again next time.
        let end = max(start, bytes.lastIndex(of: 0x0A).map { $0 + 1 } ?? 0)
        hasher.update(data: bytes[start..<end])
        // The split gave one piece more than there are newlines after `start`, and those all lie before `end`.
        readThrough = SourceMark(
            offset: Int64(end),
            lines: Int64(lineNumber - 1),
            prefixHash: Self.digest(hasher)
        )
        self.path = path
        self.problems = problems
        self.logs = logs.sorted { ($0.blockNumber!, $0.logIndex!) < ($1.blockNumber!, $1.logIndex!) }
    }

    private static func digest(_ hasher: SHA256) -> Bytes32 {
        (try? Bytes32(Array(hasher.finalize()))) ?? .zero  // a SHA-256 digest is always 32 bytes
    }

    /// The key the store keeps this file's mark under: its absolute path.
    public var markKey: String { Self.markKey(path) }

    /// The key the store keeps the mark of the file at `path` under.
    public static func markKey(_ path: String) -> String {
        "file:" + URL(fileURLWithPath: path).standardizedFileURL.path
    }

    public var readMark: (source: String, mark: SourceMark)? { (markKey, readThrough) }

    /// The file's logs after `block`, up to `limit` blocks further.
    public func nextBatch(after block: UInt64?, limit: UInt64) async throws(PipelineError) -> (
        logs: [EventLog], through: (block: UInt64, hash: Bytes32)
    )? {
        let fresh = logs.filter { block == nil || $0.blockNumber! > block! }
        guard let first = fresh.first?.blockNumber else { return nil }
        let last = first + max(1, limit) - 1
        let batch = fresh.filter { $0.blockNumber! <= last }
        let end = batch.last!
        return (batch, (end.blockNumber!, end.blockHash!))
    }
}
