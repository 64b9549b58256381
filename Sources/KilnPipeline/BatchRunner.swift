// Kiln — Apache-2.0. See LICENSE.

internal import BigInt
internal import Foundation
public import KilnAVS
public import KilnContent
public import KilnCore
internal import KilnChain
internal import KilnImage
internal import KilnInference
public import KilnStore
public import KilnTemplates
public import Logging

/// One watched contract and the template that draws its tokens, loaded for this run.
public struct Deployment: Sendable {
    public var contract: Address
    public var template: Template
    public var templateHash: Bytes32
    /// The template folder, imported into the blockstore (published with every batch).
    public var templateEntry: FileDAGBuilder.Entry
}

/// What became of one job.
public enum JobResult: Sendable {
    case published(Publication)
    /// Quorum not reached: queued again for the next run.
    case noQuorum(String)
    case failed(String)
    /// A newer state or template replaced it before it ran.
    case superseded(String)
    /// Its contract's template does not load: left queued until it does.
    case deferred(String)
}

public struct JobReport: Sendable {
    public var jobId: Int64
    public var token: TokenKey
    public var result: JobResult
    /// One line on the quorum (signers, stake), when a round ran.
    public var quorum: String?
    public var seconds: Double
}

public struct SyncReport: Sendable {
    public var newLogs = 0
    public var through: UInt64?
    public var refolded = 0
    public var changed = 0
    public var queued = 0
    public var problems: [String] = []
    /// What happened that is not a problem (a reorganisation within the confirmations).
    public var notes: [String] = []
}

public struct BatchSummary: Sendable {
    public var batch: Int?
    public var published = 0
    public var noQuorum = 0
    public var failed = 0
    public var superseded = 0
    public var deferred = 0
    public var root: CID?
    public var car: String?
    public var sheet: String?
    public var manifest: String?
    public var problems: [String] = []
    /// Transactions sent to make `tokenURI` match (publish.mode onchain / onchain-base).
    public var transactions: [OnchainTransaction] = []
    public var seconds = 0.0

    /// 0 done, 1 some jobs failed (or input problems), 3 some jobs lack quorum (retried next run).
    public var exitCode: Int32 {
        if failed > 0 || deferred > 0 || !problems.isEmpty { return 1 }
        return noQuorum > 0 ? 3 : 0
    }
}

/// Progress, as it happens.
public enum BatchEvent: Sendable {
    case synced(SyncReport)
    case started(batch: Int, jobs: Int, resumed: Bool)
    case job(JobReport, done: Int, total: Int)
    case finishing(batch: Int)
    case transaction(OnchainTransaction)
    case finished(BatchSummary)
}

public struct BatchOptions: Sendable {
    public var concurrency = 4
    public var maxJobs: Int?
    /// Only these jobs (`kiln regen`).
    public var onlyJobs: Set<Int64>?
    /// Re-render from the stored attested output instead of asking the nodes again (`kiln regen --reuse-attested`).
    public var reuseAttested = false
    public var owner = "kiln-\(ProcessInfo.processInfo.processIdentifier)"
    public init() {}
}

/// The batch pipeline: sync → fold → queue → (inference + quorum → render → publish) → CAR, sheet, manifest.
/// Every step commits to the store before the next begins, so a run killed anywhere and started again
/// finishes the same batch with the same bytes.
public struct BatchRunner: Sendable {
    public let configuration: Configuration
    public let store: any Store
    public let source: (any EventSource)?
    public let registry: any OperatorRegistry
    public let blockstore: FilesystemBlockstore
    public let deployments: [Address: Deployment]
    /// Contracts whose template did not load, with the error.
    public let templateProblems: [Address: String]
    public var logger = Logger(label: "kiln.batch")
    /// Extra problems to report (skipped event lines).
    public var inputProblems: [String] = []
    /// Sends `setTokenURI` / `setBaseURI` after each run (publish.mode onchain / onchain-base).
    var onchain: OnchainPublisher?

    public var blocksFolder: String { configuration.out + "/blocks" }

    public init(configuration: Configuration, store: any Store, source: (any EventSource)?, registry: any OperatorRegistry) throws {
        self.configuration = configuration
        self.store = store
        self.source = source
        self.registry = registry
        blockstore = try FilesystemBlockstore(folder: configuration.out + "/blocks")
        var deployments: [Address: Deployment] = [:]
        var problems: [Address: String] = [:]
        for contract in configuration.contracts {
            do {
                let template = try Template.load(folder: contract.template)
                let entry = try Importer(profile: configuration.profile).add(path: contract.template, into: blockstore)
                deployments[contract.address] = Deployment(
                    contract: contract.address, template: template, templateHash: template.contentHash(), templateEntry: entry)
            } catch {
                problems[contract.address] = "\(contract.address.checksummed): template \(contract.template) does not load: \(error)"
            }
        }
        self.deployments = deployments
        templateProblems = problems
    }

    /// Opens everything `kiln.yml` names: the store, the events file (bad lines skipped and reported), the operators.
    public static func open(_ configuration: Configuration, eventsFile: String? = nil) throws -> BatchRunner {
        try FileManager.default.createDirectory(
            atPath: (configuration.store as NSString).deletingLastPathComponent.isEmpty ? "." : (configuration.store as NSString).deletingLastPathComponent,
            withIntermediateDirectories: true)
        let store = try SQLiteStore(path: configuration.store)
        let file = eventsFile ?? configuration.eventsFile
        let source: (any EventSource)?
        var problems: [String] = []
        if let url = configuration.rpcURL, eventsFile == nil {
            source = JSONRPCEventSource(
                rpc: configuration.rpc(url), contracts: configuration.contracts.map(\.address), confirmations: configuration.confirmations,
                fromBlock: configuration.fromBlock, blockRange: configuration.blockRange)
        } else if let file {
            let fileSource = try FileEventSource(path: file, skippingMalformed: true)
            problems = fileSource.problems
            source = fileSource
        } else {
            source = nil
        }
        var runner = try BatchRunner(configuration: configuration, store: store, source: source, registry: try configuration.operatorRegistry())
        runner.inputProblems = problems
        if configuration.publishMode != .files, let url = configuration.chainRPC {
            let rpc = configuration.rpc(url)
            let sender = TransactionSender(rpc: rpc, chainId: configuration.chainId, key: try configuration.publisherKey(), confirmations: configuration.confirmations)
            runner.onchain = OnchainPublisher(mode: configuration.publishMode, rpc: rpc, sender: sender)
        }
        return runner
    }

    // MARK: - Sync

    /// When the chain no longer has the cursor's block, the newest recorded block it still has (the common
    /// ancestor), or block 0 with a zero hash when none is left; nil when the cursor's block is still there.
    func reorgAncestor(_ source: any EventSource, cursor: (block: UInt64, hash: Bytes32)) async throws -> (block: UInt64, hash: Bytes32)? {
        guard let now = try await source.currentHashes(of: [cursor.block]), now[cursor.block] != cursor.hash else { return nil }
        var below = cursor.block
        while true {
            let recorded = try store.blockHashes(chainId: configuration.chainId, below: below, limit: 64)
            guard let last = recorded.last else { return (0, .zero) }
            let current = try await source.currentHashes(of: recorded.map(\.block)) ?? [:]
            if let common = recorded.first(where: { current[$0.block] == $0.hash }) { return common }
            below = last.block
        }
    }

    /// Reads new logs into the store, folds the state of every token they touch (every token of a contract whose
    /// template changed), and queues a job for each token whose state or template is new.
    public func sync() async throws -> SyncReport {
        var report = SyncReport()
        report.problems = inputProblems
        let chainId = configuration.chainId
        // A zero hash is the cursor a reorg below every recorded block leaves: start again from the beginning.
        var cursor = try store.cursor(chainId: chainId).flatMap { $0.hash == .zero ? nil : $0 }
        let watched = Set(configuration.contracts.map(\.address))
        var unknown: [Address: Int] = [:]
        var reorganised = false
        try await source?.check(chainId: chainId)
        if let source, let current = cursor, let ancestor = try await reorgAncestor(source, cursor: current) {
            // The chain no longer has the block the cursor is at: its logs after the common ancestor are gone.
            try store.rewind(chainId: chainId, to: ancestor.block, hash: ancestor.hash)
            cursor = ancestor.hash == .zero ? nil : ancestor
            reorganised = true
            let depth = current.block - ancestor.block
            report.notes.append("reorg: the chain replaced blocks \(ancestor.block + 1)…\(current.block); their logs are marked removed and every token is folded again")
            if depth > configuration.confirmations {
                report.problems.append(
                    "a reorg of \(depth) block(s) (\(ancestor.block + 1)…\(current.block)) is deeper than confirmations (\(configuration.confirmations)): media published from those blocks were re-queued")
            }
        }
        if let source {
            while let batch = try await source.nextBatch(after: cursor?.block, limit: 10_000) {
                let kept = batch.logs.filter { log in
                    if watched.contains(log.address) { return true }
                    unknown[log.address, default: 0] += 1
                    return false
                }
                try store.record(kept, chainId: chainId, cursor: batch.through)
                report.newLogs += kept.count
                cursor = batch.through
            }
        }
        for (address, count) in unknown.sorted(by: { $0.key.lowercased < $1.key.lowercased }) {
            report.problems.append("\(count) log(s) of \(address.checksummed) skipped: that contract is not in kiln.yml")
        }
        report.through = cursor?.block
        let head = cursor?.block ?? 0
        for contract in configuration.contracts {
            if let problem = templateProblems[contract.address] {
                report.problems.append(problem)
                continue
            }
            guard let deployment = deployments[contract.address] else { continue }
            let mark = try store.foldMark(chainId: chainId, contract: contract.address)
            let templateChanged = mark?.templateHash != deployment.templateHash || reorganised
            let foldedThrough = templateChanged ? nil : mark?.block
            if !templateChanged, let foldedThrough, foldedThrough >= head { continue }
            let logs = try store.logs(chainId: chainId, contract: contract.address)
            // Which tokens each log concerns, by the template's event rules; a log that claims to be a template
            // event but doesn't decode is reported and left out.
            var byToken: [BigUInt: [EventLog]] = [:]
            var touched: Set<BigUInt> = []
            let rules = Dictionary(deployment.template.events.map { ($0.signature.topic0, $0) }, uniquingKeysWith: { first, _ in first })
            for log in logs {
                guard let topic0 = log.topics.first, let rule = rules[topic0] else { continue }
                let isNew = foldedThrough.map { (log.blockNumber ?? 0) > $0 } ?? true
                guard let decoded = try? rule.signature.decode(log), case .uint(let id)? = decoded[rule.tokenParameter] else {
                    if isNew {
                        report.problems.append(
                            "log \(log.logIndex.map(String.init) ?? "?") in block \(log.blockNumber.map(String.init) ?? "?") of \(contract.address.checksummed) "
                                + "does not decode as \(rule.signature.canonical): skipped")
                    }
                    continue
                }
                byToken[id, default: []].append(log)
                if isNew { touched.insert(id) }
            }
            if templateChanged {
                for text in try store.tokenIds(chainId: chainId, contract: contract.address) { if let id = BigUInt(text, radix: 10) { touched.insert(id) } }
            }
            for id in touched.sorted() {
                let token = TokenKey(chainId: chainId, contract: contract.address, tokenId: String(id))
                guard byToken[id] != nil else {
                    // Every log of this token was removed by a reorg: nothing on chain draws it any more.
                    report.problems.append("\(token): no event names it after the reorg; its published media stay as they were")
                    continue
                }
                do {
                    let traits = try deployment.template.fold(byToken[id] ?? [], token: TokenRef(contract: contract.address, id: id))
                    let (json, hash) = try deployment.template.stateJSON(traits)
                    let saved = try store.saveState(token, json: json, hash: hash)
                    report.refolded += 1
                    if saved.changed { report.changed += 1 }
                    let (job, created) = try store.enqueue(
                        token, stateVersion: saved.version, stateHash: hash, templateHash: deployment.templateHash, referenceBlock: head)
                    if created {
                        report.queued += 1
                    } else if job.status == .done, let latest = try store.latestPublication(token),
                        latest.stateHash != hash || latest.templateHash != deployment.templateHash
                    {
                        // Back to an earlier state or template: that job ran before, but what is published now is newer.
                        try store.requeue(jobId: job.id)
                        report.queued += 1
                    }
                } catch {
                    report.problems.append("\(token): \(error)")
                }
            }
            try store.setFoldMark(chainId: chainId, contract: contract.address, templateHash: deployment.templateHash, block: head)
        }
        CrashPoint.afterSync.reached()
        return report
    }

    // MARK: - Run

    /// Processes every runnable job (or `options.onlyJobs`) into the open batch, then finishes the batch: its
    /// CAR file, contact sheet and the manifest. Call ``sync()`` first (``syncAndRun(options:progress:)`` does both).
    public func run(options: BatchOptions, sync report: SyncReport? = nil, progress: @escaping @Sendable (BatchEvent) -> Void) async throws -> BatchSummary {
        let started = ContinuousClock.now
        var summary = BatchSummary()
        summary.problems = report?.problems ?? []
        removeStaleTemporaryFiles()
        _ = try store.reclaimLeases()
        let counts = try store.jobCounts()
        var runnable = (counts[.queued] ?? 0) + (counts[.noQuorum] ?? 0)
        if let only = options.onlyJobs { runnable = only.count }
        if let maxJobs = options.maxJobs { runnable = min(runnable, maxJobs) }
        let open = try store.currentBatch()
        guard runnable > 0 || open != nil else {
            await publishOnchain(into: &summary, collections: nil, progress: progress)
            summary.seconds = seconds(since: started)
            progress(.finished(summary))
            return summary
        }
        let (batch, resumed) = try store.openBatch()
        summary.batch = batch
        CrashPoint.afterBatchOpened.reached()
        progress(.started(batch: batch, jobs: runnable, resumed: resumed))

        var round = QuorumRound(log: SignatureLog(), logger: logger)
        round.timeout = .milliseconds(Int64(configuration.nodeTimeout * 1000))
        // Every operator's answer is awaited, so the attestation bundle (and so every CID) is the same on every run.
        round.waitForAll = true
        let worker = JobWorker(
            store: store, registry: registry, blockstore: blockstore, profile: configuration.profile, deployments: deployments, round: round,
            batch: batch, owner: options.owner, reuseAttested: options.reuseAttested)

        var done = 0
        await withTaskGroup(of: JobReport.self) { group in
            var lastId: Int64 = 0
            var inFlight = 0
            var leasedTotal = 0
            var exhausted = false
            func refill() {
                while !exhausted && inFlight < max(1, options.concurrency) {
                    let room = min(max(1, options.concurrency) - inFlight, (options.maxJobs ?? .max) - leasedTotal)
                    guard room > 0 else {
                        exhausted = true
                        return
                    }
                    let jobs: [Job]
                    do {
                        jobs = try store.lease(
                            owner: options.owner, limit: room, seconds: configuration.leaseSeconds, now: Date().timeIntervalSince1970, afterId: lastId)
                    } catch {
                        summary.problems.append("\(error)")
                        exhausted = true
                        return
                    }
                    if jobs.isEmpty {
                        exhausted = true
                        return
                    }
                    CrashPoint.afterLease.reached()
                    for job in jobs {
                        lastId = max(lastId, job.id)
                        if let only = options.onlyJobs, !only.contains(job.id) {
                            try? store.finish(jobId: job.id, owner: options.owner, status: job.status == .noQuorum ? .noQuorum : .queued, error: job.lastError)
                            continue
                        }
                        leasedTotal += 1
                        inFlight += 1
                        group.addTask { await worker.process(job) }
                    }
                }
            }
            refill()
            while let report = await group.next() {
                inFlight -= 1
                done += 1
                switch report.result {
                case .published: summary.published += 1
                case .noQuorum: summary.noQuorum += 1
                case .failed: summary.failed += 1
                case .superseded: summary.superseded += 1
                case .deferred: summary.deferred += 1
                }
                progress(.job(report, done: done, total: max(runnable, done)))
                refill()
            }
        }

        progress(.finishing(batch: batch))
        let collections = try finish(batch: batch, into: &summary)
        await publishOnchain(into: &summary, collections: collections, progress: progress)
        summary.seconds = seconds(since: started)
        progress(.finished(summary))
        return summary
    }

    /// ``sync()``, then ``run(options:sync:progress:)``.
    public func syncAndRun(options: BatchOptions, progress: @escaping @Sendable (BatchEvent) -> Void) async throws -> BatchSummary {
        let report = try await sync()
        progress(.synced(report))
        return try await run(options: options, sync: report, progress: progress)
    }

    // MARK: - Finish a batch

    /// Writes the batch's directory (tokens, provenance, templates, its own manifest) as `batch-<n>.car`, the
    /// contact sheet and `manifest.json`, then closes the batch. Every file is written whole or not at all,
    /// and writing them again gives the same bytes, so a run killed here simply does it again. With
    /// publish.mode onchain-base the CAR also holds every collection's directory, which it returns.
    func finish(batch: Int, into summary: inout BatchSummary) throws -> [Address: FileDAGBuilder.Entry]? {
        let publications = try store.publications(batch: batch)
        guard !publications.isEmpty else {
            try store.closeBatch(batch)
            summary.batch = nil
            return nil
        }
        let importer = Importer(profile: configuration.profile)
        let reader = UnixFSReader(blockstore: blockstore)
        var latest: [String: Publication] = [:]
        for publication in publications { latest[publication.token.directoryName] = publication }
        var tokens: [String: FileDAGBuilder.Entry] = [:]
        var provenance: [String: FileDAGBuilder.Entry] = [:]
        var templates: [String: FileDAGBuilder.Entry] = [:]
        var own: [String: JSONValue] = [:]
        for (name, publication) in latest {
            tokens[name] = try reader.entry(try CID(publication.directory))
            var files: [String: FileDAGBuilder.Entry] = [:]
            if let attestation = publication.attestation { files["attestation.json"] = try reader.entry(try CID(attestation)) }
            if let inference = publication.inference { files["inference.png"] = try reader.entry(try CID(inference)) }
            if !files.isEmpty { provenance[name] = try importer.directory(files, into: blockstore) }
            let templateName = "\(publication.token.chainId)-\(publication.token.contract.lowercased)"
            templates[templateName] = try reader.entry(try CID(publication.template))
            own[name] = [
                "chainId": .number(publication.token.chainId), "contract": .string(publication.token.contract.checksummed),
                "tokenId": .string(publication.token.tokenId), "metadata": .string("ipfs://\(publication.metadata)"),
                "directory": .string("ipfs://\(publication.directory)"),
            ]
        }
        let batchManifest = JSONValue.object([
            "batch": .number(batch), "kiln": .string(KilnVersion.current), "profile": .string(configuration.profile.name), "tokens": .object(own),
        ])
        var root: [String: FileDAGBuilder.Entry] = [
            "manifest.json": try importer.add(bytes: try batchManifest.canonicalBytes(), into: blockstore),
            "tokens": try importer.groupedDirectory(tokens, into: blockstore, path: "tokens"),
            "templates": try importer.directory(templates, into: blockstore),
        ]
        if !provenance.isEmpty { root["provenance"] = try importer.groupedDirectory(provenance, into: blockstore, path: "provenance") }
        var collections: [Address: FileDAGBuilder.Entry]?
        if configuration.publishMode == .onchainBase {
            let built = try self.collections(try latestPublications())
            collections = built
            let named = Dictionary(uniqueKeysWithValues: built.map { ("\(configuration.chainId)-\($0.key.lowercased)", $0.value) })
            root["collections"] = try importer.directory(named, into: blockstore)
        }
        let rootEntry = try importer.directory(root, into: blockstore)
        summary.root = rootEntry.cid

        CrashPoint.beforeCAR.reached()
        let car = configuration.out + "/batch-\(batch).car"
        try CARWriter.write(roots: [rootEntry.cid], from: blockstore, to: car)
        summary.car = car
        CrashPoint.afterCAR.reached()

        let sheet = configuration.out + "/batch-\(batch)-sheet.png"
        let items = try latest.values.sorted(by: Self.tokenOrder).map { publication in
            (label: "#\(publication.token.tokenId)", thumbnail: try reader.cat(try CID(publication.thumbnail)))
        }
        try AtomicFile.write(try PNGEncoder().encode(try ContactSheet.render(items).rgbaImage), to: sheet)
        summary.sheet = sheet
        CrashPoint.afterSheet.reached()

        let manifestPath = configuration.out + "/manifest.json"
        try manifest().write(to: manifestPath)
        summary.manifest = manifestPath
        CrashPoint.afterManifest.reached()
        try store.closeBatch(batch)
        return collections
    }

    /// Every token's latest publication, by contract.
    func latestPublications() throws -> [Address: [Publication]] {
        var latest: [TokenKey: Publication] = [:]
        for publication in try store.publications(batch: nil) { latest[publication.token] = publication }
        return Dictionary(grouping: latest.values, by: \.token.contract)
    }

    /// publish.mode onchain-base: each collection's directory, `<tokenId>` → its current metadata.json.
    func collections(_ latest: [Address: [Publication]]) throws -> [Address: FileDAGBuilder.Entry] {
        let reader = UnixFSReader(blockstore: blockstore)
        var collections: [Address: FileDAGBuilder.Entry] = [:]
        for (contract, tokens) in latest {
            var files: [String: FileDAGBuilder.Entry] = [:]
            for publication in tokens { files[publication.token.tokenId] = try reader.entry(try CID(publication.metadata)) }
            collections[contract] = try Importer(profile: configuration.profile).directory(files, into: blockstore, path: "collection")
        }
        return collections
    }

    /// publish.mode onchain / onchain-base: brings each contract's tokenURI in line with what is published.
    /// `collections` are the directories ``finish(batch:into:)`` built, if it ran.
    func publishOnchain(
        into summary: inout BatchSummary, collections: [Address: FileDAGBuilder.Entry]?, progress: @escaping @Sendable (BatchEvent) -> Void
    ) async {
        guard let onchain else { return }
        let latest: [Address: [Publication]]
        var bases: [Address: CID] = [:]
        do {
            latest = try latestPublications()
            if onchain.mode == .onchainBase { bases = (try collections ?? self.collections(latest)).mapValues(\.cid) }
        } catch {
            summary.problems.append("on-chain publish: \(error)")
            return
        }
        for contract in configuration.contracts.map(\.address) {
            summary.problems += await onchain.reconcile(
                contract: contract, latest: latest[contract] ?? [], collection: bases[contract], blockstore: blockstore
            ) { sent in
                summary.transactions.append(sent)
                progress(.transaction(sent))
            }
        }
    }

    /// `manifest.json` from every publication in order: each token's current metadata CID and its history.
    public func manifest() throws -> Manifest {
        var manifest = Manifest(profile: configuration.profile.name)
        for publication in try store.publications(batch: nil) {
            manifest.update(
                token: publication.token.description,
                with: PublishedToken(
                    directory: try CID(publication.directory), image: try CID(publication.image), thumbnail: try CID(publication.thumbnail),
                    metadata: try CID(publication.metadata)))
        }
        return manifest
    }

    static func tokenOrder(_ a: Publication, _ b: Publication) -> Bool {
        if a.token.contract != b.token.contract { return a.token.contract.lowercased < b.token.contract.lowercased }
        if a.token.tokenId.count != b.token.tokenId.count { return a.token.tokenId.count < b.token.tokenId.count }
        return a.token.tokenId < b.token.tokenId
    }

    /// Temporary files a killed run left beside the outputs (`.NAME.tmp-XXXXXX`). Only called under the lock.
    func removeStaleTemporaryFiles() {
        for folder in [configuration.out, blocksFolder] {
            guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { continue }
            for name in names where name.hasPrefix(".") && name.contains(".tmp-") {
                try? FileManager.default.removeItem(atPath: folder + "/" + name)
            }
        }
    }

    private func seconds(since start: ContinuousClock.Instant) -> Double {
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
