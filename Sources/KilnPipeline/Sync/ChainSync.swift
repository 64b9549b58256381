// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
internal import Metrics
public import KilnCore
public import KilnStore
internal import KilnTemplates

/// The first stage of a batch: reads new logs into the store (walking back over a reorganisation), folds the
/// state of every token they touch (every token of a contract whose template changed), and queues a job for
/// each token whose state or template is new. Each step commits to the store before the next begins.
public struct ChainSync: Sendable {
    /// The store the cursor, logs, states and jobs live in.
    public let store: any Store
    /// Where new logs come from; nil reads nothing new (folds what is stored).
    public let source: (any EventSource)?
    /// The chain the logs are of.
    public let chainId: UInt64
    /// The watched contracts, in kiln.yml's order.
    public let contracts: [Address]
    /// How deep a reorganisation may be before it is reported as a problem.
    public let confirmations: UInt64
    /// The contracts whose template loaded.
    public let watched: [Address: WatchedContract]
    /// Contracts whose template did not load, with the problem to report.
    public let templateProblems: [Address: Problem]
    /// Problems found while opening the input (skipped event lines), reported with the sync's own.
    public var inputProblems: [Problem] = []

    /// A sync over `store` from `source`.
    public init(
        store: any Store,
        source: (any EventSource)?,
        chainId: UInt64,
        contracts: [Address],
        confirmations: UInt64,
        watched: [Address: WatchedContract],
        templateProblems: [Address: Problem]
    ) {
        self.store = store
        self.source = source
        self.chainId = chainId
        self.contracts = contracts
        self.confirmations = confirmations
        self.watched = watched
        self.templateProblems = templateProblems
    }

    /// Reads, folds and queues; see the type's description.
    /// - Throws: ``PipelineError`` when the source fails or serves another chain, or the store fails.
    public func run() async throws -> SyncReport {
        var report = SyncReport()
        report.problems = inputProblems
        // A zero hash is the cursor a reorg below every recorded block leaves: start again from the beginning.
        var cursor = try await store.cursor(chainId: chainId).flatMap { $0.hash == .zero ? nil : $0 }
        var reorganised = false
        try await source?.check(chainId: chainId)
        if let source, let current = cursor, let ancestor = try await reorgAncestor(source, cursor: current) {
            // The chain no longer has the block the cursor is at: its logs after the common ancestor are gone.
            try await store.rewind(chainId: chainId, to: ancestor.block, hash: ancestor.hash)
            cursor = ancestor.hash == .zero ? nil : ancestor
            reorganised = true
            let depth = current.block - ancestor.block
            report.notes.append(
                "reorg: the chain replaced blocks \(ancestor.block + 1)…\(current.block); their logs are marked removed and every token is folded again"
            )
            if depth > confirmations {
                report.problems.append(
                    Problem(
                        .reorg,
                        nil,
                        "a reorg of \(depth) block(s) (\(ancestor.block + 1)…\(current.block)) is deeper than confirmations (\(confirmations)): "
                            + "media published from those blocks were re-queued"
                    )
                )
            }
        }
        cursor = try await readNewLogs(after: cursor, into: &report)
        report.through = cursor?.block
        // How far behind the chain this run left the store (a node's head moves on while logs are read).
        if let source, let lag = try await source.lag(through: cursor?.block) {
            report.chainLag = lag
            Gauge(label: "kiln_chain_lag_blocks", dimensions: [("chain", String(chainId))]).record(lag)
        }
        let head = cursor?.block ?? 0
        for contract in contracts {
            if let problem = templateProblems[contract] {
                report.problems.append(problem)
                continue
            }
            guard let watched = watched[contract] else { continue }
            try await fold(watched, head: head, reorganised: reorganised, into: &report)
        }
        CrashPoint.afterSync.reached()
        return report
    }

    // MARK: - Logs

    /// Records every new log of a watched contract; logs of other contracts are counted and reported.
    func readNewLogs(after start: (block: UInt64, hash: Bytes32)?, into report: inout SyncReport) async throws -> (
        block: UInt64, hash: Bytes32
    )? {
        guard let source else { return start }
        var cursor = start
        let watchedSet = Set(contracts)
        var unknown: [Address: Int] = [:]
        while let batch = try await source.nextBatch(after: cursor?.block, limit: 10_000) {
            let kept = batch.logs.filter { log in
                if watchedSet.contains(log.address) { return true }
                unknown[log.address, default: 0] += 1
                return false
            }
            try await store.record(kept, chainId: chainId, cursor: batch.through)
            report.newLogs += kept.count
            cursor = batch.through
        }
        // Every log read is recorded: the next batch may start reading the source after them.
        if let (key, mark) = source.readMark { try await store.setSourceMark(key, mark) }
        for (address, count) in unknown.sorted(by: { $0.key.lowercased < $1.key.lowercased }) {
            report.problems.append(
                Problem(.input, address.checksummed, "\(count) log(s) skipped: that contract is not in kiln.yml")
            )
        }
        return cursor
    }

    /// When the chain no longer has the cursor's block, the newest recorded block it still has (the common
    /// ancestor), or block 0 with a zero hash when none is left; nil when the cursor's block is still there.
    func reorgAncestor(_ source: any EventSource, cursor: (block: UInt64, hash: Bytes32)) async throws -> (
        block: UInt64, hash: Bytes32
    )? {
        guard let now = try await source.currentHashes(of: [cursor.block]), now[cursor.block] != cursor.hash else {
            return nil
        }
        var below = cursor.block
        while true {
            let recorded = try await store.blockHashes(chainId: chainId, below: below, limit: 64)
            guard let last = recorded.last else { return (0, .zero) }
            let current = try await source.currentHashes(of: recorded.map(\.block)) ?? [:]
            if let common = recorded.first(where: { current[$0.block] == $0.hash }) { return common }
            below = last.block
        }
    }

    // MARK: - Fold and queue

    /// Folds the tokens of one contract that new logs touch (all of them when its template changed or the chain
    /// reorganised) and queues a job for each new state.
    func fold(_ watched: WatchedContract, head: UInt64, reorganised: Bool, into report: inout SyncReport) async throws {
        let contract = watched.contract
        let mark = try await store.foldMark(chainId: chainId, contract: contract)
        let templateChanged = mark?.templateHash != watched.templateHash || reorganised
        let foldedThrough = templateChanged ? nil : mark?.block
        if !templateChanged, let foldedThrough, foldedThrough >= head { return }
        // Only new logs: each token they touch is folded again from its own logs, found by the topic that names
        // it (an index lookup) — not by reading the contract's whole history.
        let positions = watched.template.tokenTopicPositions
        let incremental = !templateChanged && foldedThrough != nil && positions != nil
        let logs = try await store.logs(chainId: chainId, contract: contract, after: incremental ? foldedThrough : nil)
        // Which tokens each log concerns, by the template's event rules; a log that claims to be a template
        // event but doesn't decode is reported and left out.
        var byToken: [BigUInt: [EventLog]] = [:]
        var touched: Set<BigUInt> = []
        let rules = Dictionary(
            watched.template.events.map { ($0.signature.topic0, $0) },
            uniquingKeysWith: { first, _ in first }
        )
        for log in logs {
            guard let topic0 = log.topics.first, let rule = rules[topic0] else { continue }
            let isNew = foldedThrough.map { (log.blockNumber ?? 0) > $0 } ?? true
            guard let decoded = try? rule.signature.decode(log), case .uint(let id)? = decoded[rule.tokenParameter]
            else {
                if isNew {
                    report.problems.append(
                        Problem(
                            .input,
                            "log \(log.logIndex.map(String.init) ?? "?") in block \(log.blockNumber.map(String.init) ?? "?") of \(contract.checksummed)",
                            "does not decode as \(rule.signature.canonical): skipped"
                        )
                    )
                }
                continue
            }
            byToken[id, default: []].append(log)
            if isNew { touched.insert(id) }
        }
        if templateChanged {
            for token in try await store.tokens(chainId: chainId, contract: contract) { touched.insert(token.id) }
        }
        for id in touched.sorted() {
            let token = TokenKey(chainId: chainId, contract: contract, id: id)
            if incremental, let positions, let word = id.bigEndianBytes(count: 32).flatMap({ try? Bytes32($0) }) {
                do {
                    let tokenLogs = try await store.logs(
                        chainId: chainId,
                        contract: contract,
                        naming: word,
                        at: positions
                    )
                    try await queue(token, id: id, logs: tokenLogs, watched: watched, head: head, into: &report)
                } catch {
                    report.problems.append(Problem(.token, token.description, error: error))
                }
                continue
            }
            guard let tokenLogs = byToken[id] else {
                // Every log of this token was removed by a reorg: nothing on chain draws it any more.
                report.problems.append(
                    Problem(
                        .reorg,
                        token.description,
                        "no event names it after the reorg; its published media stay as they were"
                    )
                )
                continue
            }
            do {
                try await queue(token, id: id, logs: tokenLogs, watched: watched, head: head, into: &report)
            } catch {
                report.problems.append(Problem(.token, token.description, error: error))
            }
        }
        try await store.setFoldMark(
            chainId: chainId,
            contract: contract,
            templateHash: watched.templateHash,
            block: head
        )
    }

    /// Folds one token's logs into its state, saves it, and queues a job when its state or template is new.
    func queue(
        _ token: TokenKey,
        id: BigUInt,
        logs: [EventLog],
        watched: WatchedContract,
        head: UInt64,
        into report: inout SyncReport
    ) async throws {
        let traits = try watched.template.fold(logs, token: token)
        let (json, hash) = try watched.template.stateJSON(traits)
        let saved = try await store.saveState(token, json: json, hash: hash)
        report.refolded += 1
        if saved.changed { report.changed += 1 }
        let (job, created) = try await store.enqueue(
            token,
            stateVersion: saved.version,
            stateHash: hash,
            templateHash: watched.templateHash,
            referenceBlock: source?.referenceBlock(through: head) ?? head
        )
        if created {
            report.queued += 1
        } else if job.status == .done, let latest = try await store.latestPublication(token),
            latest.stateHash != hash || latest.templateHash != watched.templateHash
        {
            // Back to an earlier state or template: that job ran before, but what is published now is newer.
            try await store.requeue(jobId: job.id)
            report.queued += 1
        }
    }
}
