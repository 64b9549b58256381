// Kiln — Apache-2.0. See LICENSE.

public import KilnCore

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
}

extension EventSource {
    /// By default a source cannot tell: nil.
    public func currentHashes(of blocks: [UInt64]) async throws(PipelineError) -> [UInt64: Bytes32]? { nil }
    /// By default a source accepts any chain.
    public func check(chainId: UInt64) async throws(PipelineError) {}
}

/// Logs recorded one per line, exactly as `eth_getLogs` returns them (blank lines and `#` comments allowed).
/// Every line is checked when the file is opened; a bad line is an error naming `file:line`, or, with
/// `skippingMalformed`, a problem listed in ``problems`` while the good lines are used.
public struct FileEventSource: EventSource {
    /// The file.
    public let path: String
    /// Its good lines, in file order.
    public let logs: [EventLog]
    /// The lines skipped, as `file:line: reason`.
    public let problems: [String]

    /// Reads and checks every line of `path`.
    /// - Throws: ``PipelineError`` naming `file:line` for a bad line (unless `skippingMalformed`), or an unreadable file.
    public init(path: String, skippingMalformed: Bool = false) throws(PipelineError) {
        guard let bytes = try? FileBytes.read(path) else { throw PipelineError("Unable to read events file '\(path)'") }
        var logs: [EventLog] = []
        var problems: [String] = []
        // Lines are split as bytes, not Characters: a recorded file of 20 000 logs is read on every batch, and
        // grapheme breaking was most of a no-change batch's time.
        for (index, line) in bytes.split(separator: 0x0A, omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.drop { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }
            if trimmed.isEmpty || trimmed.first == UInt8(ascii: "#") { continue }
            do throws(FormatError) {
                let log = try EventLog(json: try JSONValue.parse(bytes: Array(trimmed)))
                guard log.blockNumber != nil, log.blockHash != nil, log.logIndex != nil else {
                    throw FormatError(.invalidJSON, "a recorded log needs blockNumber, blockHash and logIndex")
                }
                logs.append(log)
            } catch {
                let problem = "\(path):\(index + 1): \(error.message)"
                guard skippingMalformed else { throw PipelineError(problem) }
                problems.append(problem)
            }
        }
        self.path = path
        self.problems = problems
        self.logs = logs.sorted { ($0.blockNumber!, $0.logIndex!) < ($1.blockNumber!, $1.logIndex!) }
    }

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
