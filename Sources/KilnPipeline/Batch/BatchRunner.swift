// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
public import KilnAVS
public import KilnContent
public import KilnCore
internal import KilnChain
internal import KilnInference
public import KilnStore
internal import KilnTemplates
public import Logging
internal import Metrics

/// The batch pipeline, wired from `kiln.yml`: ``ChainSync`` (cursor, reorgs, fold, queue) → ``JobLoop`` with a
/// ``JobWorker`` per job (inference + quorum → render → publish) → ``BatchOutputs`` (CAR, sheet, manifest,
/// on-chain). Every step commits to the store before the next begins, so a run killed anywhere and started
/// again finishes the same batch with the same bytes.
///
/// ```swift
/// let runner = try await BatchRunner.open(try Configuration(path: "kiln.yml", environment: [:]))
/// let summary = try await runner.syncAndRun(options: BatchOptions()) { event in print(event) }
/// ```
public struct BatchRunner: Sendable {
    /// The configuration the runner was opened with.
    public let configuration: Configuration
    /// The store.
    public let store: any Store
    /// Where new logs come from (nil: none).
    public let source: (any EventSource)?
    /// The operator registry quorum rounds read stake from.
    public let registry: any OperatorRegistry
    /// The blockstore every published block goes to (`OUT/blocks`, its `blocks.sqlite`).
    public let blockstore: FilesystemBlockstore
    /// The watched contracts whose template loaded.
    public let watched: [Address: WatchedContract]
    /// Contracts whose template did not load, with the error.
    public let templateProblems: [Address: Problem]
    /// The logger for quorum rounds.
    public var logger = Logger(label: "kiln.batch")
    /// Extra problems to report (skipped event lines).
    public var inputProblems: [Problem] = []
    /// The templates' blocks, for a store that shares blocks.
    let templateBlocks: [StoredBlock]
    /// Sends `setTokenURI` / `setBaseURI` after each run (publish.mode onchain / onchain-base).
    var onchain: OnchainPublisher?
    /// Pushes batches to the IPFS providers of publish.ipfs after each run, until each confirms.
    var pusher: IPFSPusher?

    /// A runner over the given parts; templates are loaded and imported into `OUT/blocks` now.
    /// - Throws: ``PipelineError`` when the blockstore folder cannot be made.
    public init(
        configuration: Configuration,
        store: any Store,
        source: (any EventSource)?,
        registry: any OperatorRegistry
    ) throws {
        self.configuration = configuration
        self.store = store
        self.source = source
        self.registry = registry
        // Blocks go to OUT/blocks/blocks.sqlite, a job's in one transaction (no file, rename and flush per block).
        blockstore = try FilesystemBlockstore(folder: configuration.out + "/blocks", layout: .database)
        // A store that shares blocks keeps the templates' blocks too (``open(_:eventsFile:)``).
        let recorder = store.sharesBlocks ? RecordingBlockstore(blockstore) : nil
        var watched: [Address: WatchedContract] = [:]
        var problems: [Address: Problem] = [:]
        for contract in configuration.contracts {
            do {
                let template = try Template.load(folder: contract.template)
                let entry = try Importer(profile: configuration.profile).add(
                    path: contract.template,
                    into: recorder ?? blockstore
                )
                watched[contract.address] = WatchedContract(
                    contract: contract.address,
                    template: template,
                    templateHash: template.contentHash(),
                    templateEntry: entry
                )
            } catch {
                problems[contract.address] = Problem(
                    .template,
                    contract.address.checksummed,
                    "template \(contract.template) does not load: \(ErrorChain.human(error))",
                    cause: error
                )
            }
        }
        self.watched = watched
        templateProblems = problems
        templateBlocks = recorder?.recorded() ?? []
        try blockstore.sync()  // the templates' blocks new to this blockstore
    }

    // MARK: - Stages

    /// The sync stage over this runner's store and source.
    public var chainSync: ChainSync {
        var sync = ChainSync(
            store: store,
            source: source,
            chainId: configuration.chainId,
            contracts: configuration.contracts.map(\.address),
            confirmations: configuration.confirmations,
            watched: watched,
            templateProblems: templateProblems
        )
        sync.inputProblems = inputProblems
        return sync
    }

    var outputs: BatchOutputs {
        BatchOutputs(
            store: store,
            blockstore: blockstore,
            profile: configuration.profile,
            out: configuration.out,
            chainId: configuration.chainId,
            contracts: configuration.contracts.map(\.address),
            publishMode: configuration.publishMode,
            onchain: onchain,
            manifestLayout: configuration.manifestLayout
        )
    }

    /// Reads new logs, folds touched tokens and queues their jobs: ``ChainSync/run()``.
    public func sync() async throws -> SyncReport {
        try await chainSync.run()
    }

    /// Processes every runnable job (or `options.onlyJobs`) into the open batch, then finishes the batch: its
    /// CAR file, contact sheet and the manifest. Call ``sync()`` first (``syncAndRun(options:progress:)`` does both).
    public func run(
        options: BatchOptions,
        sync report: SyncReport? = nil,
        progress: @escaping @Sendable (BatchEvent) -> Void
    ) async throws -> BatchSummary {
        let started = ContinuousClock.now
        var summary = BatchSummary()
        summary.problems = report?.problems ?? []
        let outputs = self.outputs
        // Leases of a killed earlier run go back to the queue at once; those of live workers stay theirs.
        _ = try await store.reclaimLeases(keeping: try await liveWorkers())
        var runnable = try await store.unfinishedJobs()
        if let only = options.onlyJobs { runnable = only.count }
        if let maxJobs = options.maxJobs { runnable = min(runnable, maxJobs) }
        let open = try await store.currentBatch()
        guard runnable > 0 || open != nil else {
            await outputs.publishOnchain(into: &summary, collections: nil, progress: progress)
            await push(into: &summary, progress: progress)
            summary.seconds = seconds(since: started)
            try await recordRun(summary, options: options)
            progress(.finished(summary))
            return summary
        }
        // A killed run leaves temporary files only while its batch is open (closing the batch is its last write), so
        // they are swept here, not on a run with nothing to do (listing a large blockstore is most of such a run).
        outputs.removeStaleTemporaryFiles()
        let (batch, resumed) = try await store.openBatch()
        summary.batch = batch
        CrashPoint.afterBatchOpened.reached()
        progress(.started(batch: batch, jobs: runnable, resumed: resumed))

        let worker = jobWorker(batch: batch, options: options)
        let loop = JobLoop(store: store, worker: worker, options: options, leaseSeconds: configuration.leaseSeconds)
        func work(expected: Int) async throws {
            var unrecorded: [JobReport] = []
            var halt: String?
            let found = await loop.run(expected: expected, stopping: { halt != nil }) { job, done, total in
                summary.count(job.result)
                progress(.job(job, done: done, total: total))
                if job.unrecorded != nil { unrecorded.append(job) }
                if halt == nil { halt = job.halt }
            }
            summary.problems += found
            // A store that takes no writes (a full disk) fails the lease itself: the run stops as a job would,
            // instead of asking again every poll while the batch waits for its jobs.
            if halt == nil,
                let unwritable = found.first(where: {
                    $0.kind == .store && $0.cause.map(JobWorker.isEnvironmental) == true
                })
            {
                halt = unwritable.message
            }
            try await record(unrecorded, owner: options.owner)
            if let halt {
                throw PipelineError(
                    .io,
                    "\(halt); batch \(batch) stays open (no CAR file, contact sheet or manifest is written) and the "
                        + "next run finishes it once the disk takes writes again"
                )
            }
        }
        if options.work { try await work(expected: runnable) }
        // A run limited to some jobs (`kiln regen`, --max-jobs) does not wait for the rest. Otherwise, wait until
        // the batch is drained of the jobs other processes (`kiln worker`s) hold or have yet to take, taking over
        // (when working) any job whose lease expired.
        if options.onlyJobs == nil && options.maxJobs == nil {
            var reported = -1
            while true {
                let pending = try await pendingJobs(batch: batch)
                guard pending > 0 else { break }
                if pending != reported { progress(.waiting(batch: batch, jobs: pending)) }
                reported = pending
                try await Task.sleep(for: options.drainPoll)
                if options.work { try await work(expected: pending) }
            }
            // Drained: count the batch's jobs without quorum or failed wherever they ran, here or by a worker.
            let counts = try await whileStoreReturns { try await store.jobCounts(batch: batch) }
            summary.noQuorum = max(summary.noQuorum, counts[.noQuorum] ?? 0)
            summary.failed = max(summary.failed, counts[.failed] ?? 0)
        }
        try await whileStoreReturns { try await SharedBlocks.fetch(batch: batch, from: store, into: blockstore) }
        progress(.finishing(batch: batch))
        // Finishing is idempotent (blocks by CID, files by temp file + rename, the batch closed once), so a
        // database that drops the connection meanwhile is waited for, as the drain loop does.
        var finished = summary
        let collections = try await whileStoreReturns {
            finished = summary
            return try await outputs.finish(batch: batch, into: &finished)
        }
        summary = finished
        await outputs.publishOnchain(into: &summary, collections: collections, progress: progress)
        await push(into: &summary, progress: progress)
        summary.seconds = seconds(since: started)
        try await recordRun(summary, options: options)
        progress(.finished(summary))
        return summary
    }

    /// Keeps how a coordinator's run ended (``RunStore``), for `kiln status` and the alerts; a `kiln regen`
    /// (limited to some jobs) is not a run of the collection's batches.
    func recordRun(_ summary: BatchSummary, options: BatchOptions) async throws {
        guard options.onlyJobs == nil else { return }
        let run = RunRecord(
            finished: Date().timeIntervalSince1970,
            batch: summary.batch,
            published: summary.published,
            exitCode: Int(summary.exitCode)
        )
        try await whileStoreReturns { try await store.recordRun(run) }
    }

    /// Records the final outcomes (failed, no quorum, superseded) the workers could not (the store failed as they
    /// ended): such a job, left leased by this run, held the drain until its own lease expired. A dropped database
    /// connection is waited for (as the drain loop does); a store that cannot be written (a full disk, a read-only
    /// file) ends the run with its error, and the next run takes those jobs again (a run's leases are reclaimed
    /// when it has ended). A deferred job stays leased, as before: it is taken again in this batch once its lease
    /// expires (queued again, it would wait for the next batch).
    func record(_ reports: [JobReport], owner: String) async throws {
        for report in reports {
            guard let (status, reason) = report.unrecorded, status != .queued else { continue }
            do {
                try await whileStoreReturns {
                    try await store.finish(jobId: report.jobId, owner: owner, status: status, error: reason)
                }
            } catch {
                throw PipelineError(
                    .io,
                    "Unable to record the outcome of job \(report.jobId) (\(report.token)): \(error); its work is "
                        + "not published, and the next run does it again",
                    cause: error
                )
            }
        }
    }

    /// Pushes this run's batch (and every earlier one not yet confirmed) to the IPFS providers; a push that failed
    /// is a problem of the run (exit 1) and is tried again by the next.
    func push(into summary: inout BatchSummary, progress: @escaping @Sendable (BatchEvent) -> Void) async {
        guard let pusher, pusher.isConfigured else { return }
        var batch: (number: Int, root: String, car: String)?
        if let number = summary.batch, let root = summary.root, let car = summary.car {
            batch = (number, root.description, car)
        }
        do {
            summary.pushes = try await whileStoreReturns { try await pusher.run(batch: batch) }
        } catch {
            summary.problems.append(Problem(.ipfs, "IPFS providers", error: error))
            return
        }
        for push in summary.pushes {
            Counter(
                label: "kiln_ipfs_pushes_total",
                dimensions: [("target", push.target), ("status", push.status.rawValue)]
            )
            .increment()
            progress(.pushed(push))
            if let error = push.lastError, push.status != .queued {
                summary.problems.append(Problem(.ipfs, "batch \(push.batch) → \(push.target)", error))
            }
        }
    }

    /// ``sync()``, then ``run(options:sync:progress:)``.
    public func syncAndRun(options: BatchOptions, progress: @escaping @Sendable (BatchEvent) -> Void) async throws
        -> BatchSummary
    {
        let report = try await sync()
        progress(.synced(report))
        return try await run(options: options, sync: report, progress: progress)
    }

    /// The worker that does one job of `batch`: inference + quorum → render → publish.
    func jobWorker(batch: Int, options: BatchOptions) -> JobWorker {
        var round = QuorumRound(log: SignatureLog(), logger: logger)
        round.client.bearers = registry.bearers
        round.timeout = .milliseconds(Int64(configuration.nodeTimeout * 1000))
        // The round asks the fewest operators that can make a quorum and awaits every one it asked, so the
        // attestation bundle (and so every CID) is the same on every run for the same node behaviour.
        var worker = JobWorker(
            store: store,
            registry: registry,
            blockstore: blockstore,
            profile: configuration.profile,
            watched: watched,
            round: round,
            batch: batch,
            owner: options.owner,
            reuseAttested: options.reuseAttested
        )
        worker.erc7007 = configuration.erc7007
        return worker
    }

    /// How many jobs `batch` waits for; while the store is unreachable (a database restart), tries again with
    /// backoff for up to two minutes.
    func pendingJobs(batch: Int) async throws -> Int {
        try await whileStoreReturns(retrying: { _ in true }) { try await store.pendingJobs(batch: batch) }
    }

    /// Runs `body`, and again with Kiln's one retry policy (``Backoff``: 250 ms doubling to 4 s, with jitter) for
    /// up to two minutes while it fails with an error `retrying` accepts — by default the store's database errors
    /// (a restart drops every connection).
    @discardableResult
    func whileStoreReturns<T>(
        retrying: (any Error) -> Bool = { ($0 as? StoreError)?.code == .database },
        _ body: () async throws -> T
    ) async throws -> T {
        let backoff = Backoff(attempts: .max, first: .milliseconds(250), limit: .seconds(4))
        let deadline = ContinuousClock.now + .seconds(120)
        var retry = 0
        while true {
            do {
                return try await body()
            } catch {
                if ContinuousClock.now > deadline || !retrying(error) { throw error }
            }
            retry += 1
            try await backoff.wait(retry: retry)
        }
    }

    /// The lease owners of workers seen within a lease period that have not stopped.
    func liveWorkers() async throws -> Set<String> {
        let now = Date().timeIntervalSince1970
        return Set(
            try await store.workers().filter { $0.isAlive(at: now, leaseSeconds: configuration.leaseSeconds) }.map(
                \.name
            )
        )
    }

    /// `manifest.json` from every publication in order: each token's current metadata CID and its history.
    public func manifest() async throws -> Manifest {
        try await outputs.manifest()
    }
}
