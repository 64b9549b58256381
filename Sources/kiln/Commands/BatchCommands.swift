// Kiln — Apache-2.0. See LICENSE.

import ArgumentParser
import BigInt
import Foundation
import KilnAVS
import KilnContent
import KilnCore
import KilnPipeline
import KilnStore
import Synchronization

/// Options every pipeline command shares.
struct PipelineOptions: ParsableArguments {
    @Option(help: "The configuration file (or KILN_CONFIG).")
    var config = ProcessInfo.processInfo.environment["KILN_CONFIG"] ?? "kiln.yml"

    @Option(help: "Read events from this file instead of kiln.yml's (or KILN_EVENTS).")
    var events: String?

    @Option(help: "The store (SQLite file) instead of kiln.yml's (or KILN_STORE).")
    var store: String?

    @Option(help: "The output folder instead of kiln.yml's (or KILN_OUT).")
    var out: String?

    @Option(help: "Progress as 'human' (a bar on a terminal) or 'json' (JSON lines; the default when stdout is not a terminal).")
    var logFormat: LogFormat?

    func configuration() throws -> Configuration {
        var configuration: Configuration
        do { configuration = try Configuration(path: config, environment: ProcessInfo.processInfo.environment) } catch { throw CLIError(error.message) }
        if let store { configuration.store = store }
        if let out { configuration.out = out }
        return configuration
    }

    func runner(_ configuration: Configuration) throws -> BatchRunner {
        do { return try BatchRunner.open(configuration, eventsFile: events) } catch let error as PipelineError { throw CLIError(error.message) }
    }

    var format: LogFormat { logFormat ?? (isatty(STDOUT_FILENO) == 1 ? .human : .json) }
}

enum LogFormat: String, ExpressibleByArgument, Sendable {
    case human, json
}

struct SyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sync", abstract: "Read new logs, fold each touched token's state, and queue a job for every changed token.")

    @OptionGroup var options: PipelineOptions

    func run() async throws {
        let configuration = try options.configuration()
        guard let lock = try BatchLock.acquire(store: configuration.store) else {
            print("another kiln batch is running on \(configuration.store); nothing done")
            return
        }
        defer { withExtendedLifetime(lock) {} }
        let report = try await options.runner(configuration).sync()
        Reporter(format: options.format).synced(report)
        if !report.problems.isEmpty { throw ExitCode(1) }
    }
}

struct BatchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch",
        abstract: "The cron entry: sync, then process every queued job (inference + quorum → render → publish).",
        discussion: """
            One batch runs per store at a time: a second one exits 0 saying so (or waits, with --wait). Each batch \
            writes OUT/batch-<n>.car, OUT/batch-<n>-sheet.png and OUT/manifest.json. Exit status: 0 done, 1 some jobs \
            failed or input had problems, 3 some jobs lack quorum (they stay queued for the next run).
            """)

    @OptionGroup var options: PipelineOptions

    @Option(help: "Jobs processed at once (default: kiln.yml's concurrency).")
    var concurrency: Int?

    @Option(help: "Process at most this many jobs in this run.")
    var maxJobs: Int?

    @Flag(help: "Wait for a running batch to finish instead of exiting.")
    var wait = false

    func run() async throws {
        let configuration = try options.configuration()
        if CrashPoint.isArmed { FileHandle.standardError.write(Data("warning: \(CrashPoint.variable) is set: this run will kill itself (tests only)\n".utf8)) }
        let lock: BatchLock
        if let taken = try BatchLock.acquire(store: configuration.store) {
            lock = taken
        } else if wait {
            FileHandle.standardError.write(Data("waiting for the batch running on \(configuration.store)…\n".utf8))
            lock = try await BatchLock.wait(store: configuration.store)
        } else {
            print("another kiln batch is running on \(configuration.store); exiting (use --wait to wait for it)")
            return
        }
        defer { withExtendedLifetime(lock) {} }
        var batchOptions = BatchOptions()
        batchOptions.concurrency = concurrency ?? configuration.concurrency
        batchOptions.maxJobs = maxJobs
        let reporter = Reporter(format: options.format)
        let summary = try await options.runner(configuration).syncAndRun(options: batchOptions) { reporter.handle($0) }
        if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
    }
}

struct RegenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "regen", abstract: "Re-run one token end to end now and print its new CIDs.",
        discussion: "Asks the nodes again (a new inference round) unless --reuse-attested re-renders from the stored attested output.")

    @Argument(help: "The token's contract.") var contract: String
    @Argument(help: "The token id.") var tokenId: String
    @OptionGroup var options: PipelineOptions
    @Flag(help: "Re-render from the stored attested output; no new inference round.") var reuseAttested = false

    func run() async throws {
        let configuration = try options.configuration()
        let address: Address
        do { address = try Address(hex: contract) } catch { throw ValidationError(error.message) }
        guard BigUInt(tokenId, radix: 10) != nil else { throw ValidationError("TOKEN_ID must be a whole number") }
        guard let lock = try BatchLock.acquire(store: configuration.store) else { throw CLIError("another kiln batch is running on \(configuration.store); try again") }
        defer { withExtendedLifetime(lock) {} }
        let runner = try options.runner(configuration)
        let report = try await runner.sync()
        let token = TokenKey(chainId: configuration.chainId, contract: address, tokenId: tokenId)
        guard let job = try runner.store.latestJob(token) else { throw CLIError("\(token) has no state: no event of kiln.yml's contracts names it") }
        try runner.store.requeue(jobId: job.id)
        var batchOptions = BatchOptions()
        batchOptions.onlyJobs = [job.id]
        batchOptions.reuseAttested = reuseAttested
        let reporter = Reporter(format: options.format)
        let summary = try await runner.run(options: batchOptions, sync: report) { reporter.handle($0) }
        if let publication = try runner.store.latestPublication(token), summary.published > 0 {
            print("\(token): metadata ipfs://\(publication.metadata)  image ipfs://\(publication.image)  directory ipfs://\(publication.directory)")
        }
        if summary.exitCode != 0 { throw ExitCode(summary.exitCode) }
    }
}

struct VerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Re-derive a published token from its template, state and attested output, and compare byte for byte.",
        discussion: """
            TARGET is a metadata.json or token-directory CID (blocks from --car and --blocks, else kiln.yml's output), \
            or a token CONTRACT:ID (or just ID with one contract) looked up in kiln.yml's store. Prints \
            'verified: byte-identical' and exits 0, or lists exactly what differs and exits 1.
            """)

    @Argument(help: "A CID, or CONTRACT:ID.") var target: String
    @Option(help: "A CAR file with the published blocks (repeatable).") var car: [String] = []
    @Option(help: "A blockstore folder with the published blocks.") var blocks: String?
    @Option(help: "The chain's logs (eth_getLogs JSON lines) to fold the state from and compare (repeatable, in chain order).")
    var events: [String] = []
    @Option(help: "An operators file to compare the bundle's stake table with.") var operators: String?
    @Option(help: "The configuration file (for token targets and defaults).")
    var config = ProcessInfo.processInfo.environment["KILN_CONFIG"] ?? "kiln.yml"

    func run() async throws {
        let configuration = FileManager.default.fileExists(atPath: config)
            ? try PipelineOptions.parse(["--config", config]).configuration() : nil
        var layers: [any Blockstore] = []
        for path in car {
            do { layers.append(try MemoryBlockstore(car: path)) } catch { throw CLIError("\(path): \(error.message)") }
        }
        if let blocks { layers.append(try FilesystemBlockstore(folder: blocks)) }
        var logs: [EventLog]?
        if !events.isEmpty {
            var all: [EventLog] = []
            for path in events {
                do { all += try FileEventSource(path: path).logs } catch { throw CLIError(error.message) }
            }
            logs = all
        }
        var registry: (any OperatorRegistry)? = try operators.map { try FileOperatorRegistry(path: $0) }
        let cid: CID
        if let parsed = try? CID(target) {
            cid = parsed
            if layers.isEmpty, let configuration { layers.append(try FilesystemBlockstore(folder: configuration.out + "/blocks")) }
        } else {
            guard let configuration else { throw CLIError("'\(target)' is not a CID, and there is no \(config) to look a token up in") }
            guard let token = configuration.token(target) else { throw ValidationError("TARGET must be a CID or CONTRACT:ID") }
            let store = try SQLiteStore(path: configuration.store)
            let publication = try store.published(token)
            cid = try CID(publication.metadata)
            if logs == nil { logs = try store.logs(chainId: configuration.chainId, contract: token.contract) }
            if registry == nil { registry = try configuration.operatorRegistry() }
            layers.append(try FilesystemBlockstore(folder: configuration.out + "/blocks"))
        }
        guard !layers.isEmpty else { throw ValidationError("Give the published blocks with --car FILE or --blocks DIR") }
        let report: Verifier.Report
        do {
            report = try await Verifier(blockstore: LayeredBlockstore(layers), logs: logs, registry: registry).verify(cid)
        } catch let error as ContentError {
            throw CLIError("\(cid): \(error.message)")
        }
        for check in report.checks { print((check.ok ? "ok    " : "DIFF  ") + check.text) }
        if report.ok {
            print("verified: byte-identical")
        } else {
            print("not verified: \(report.differences.count) difference(s)")
            throw ExitCode(1)
        }
    }
}

/// Shows a batch's progress: a bar with rate and ETA on a terminal (stderr), or JSON lines on stdout.
final class Reporter: Sendable {
    let format: LogFormat
    private let state = Mutex<(started: ContinuousClock.Instant, lastDraw: ContinuousClock.Instant?)>((.now, nil))

    init(format: LogFormat) { self.format = format }

    func handle(_ event: BatchEvent) {
        switch event {
        case .synced(let report): synced(report)
        case .started(let batch, let jobs, let resumed):
            state.withLock { $0.started = .now }
            if format == .json {
                emit(["event": "started", "batch": .number(batch), "jobs": .number(jobs), "resumed": .bool(resumed)])
            } else {
                print("batch \(batch)\(resumed ? " (resumed after an interrupted run)" : ""): \(jobs) job(s)")
            }
        case .job(let report, let done, let total): job(report, done: done, total: total)
        case .finishing(let batch):
            if format == .human { clearBar() }
            if format == .human { print("batch \(batch): writing the CAR file, contact sheet and manifest…") }
        case .transaction(let sent):
            if format == .json {
                emit([
                    "event": "transaction", "contract": .string(sent.contract.checksummed), "call": .string(sent.call), "hash": .string(sent.hash.hex),
                    "block": .number(sent.block),
                ])
            } else {
                print("  sent \(sent.call) to \(sent.contract.checksummed): \(sent.hash.hex) (block \(sent.block))")
            }
        case .finished(let summary): finished(summary)
        }
    }

    func synced(_ report: SyncReport) {
        if format == .json {
            emit([
                "event": "synced", "logs": .number(report.newLogs), "through": report.through.map { .number($0) } ?? .null,
                "refolded": .number(report.refolded), "changed": .number(report.changed), "queued": .number(report.queued),
                "problems": .array(report.problems.map { .string($0) }), "notes": .array(report.notes.map { .string($0) }),
            ])
        } else {
            print("sync: \(report.newLogs) new log(s)\(report.through.map { " through block \($0)" } ?? ""), \(report.refolded) token(s) folded, "
                + "\(report.changed) changed, \(report.queued) job(s) queued")
            for note in report.notes { print("note: \(note)") }
            for problem in report.problems { FileHandle.standardError.write(Data("problem: \(problem)\n".utf8)) }
        }
    }

    private func job(_ report: JobReport, done: Int, total: Int) {
        let (status, detail): (String, String?) =
            switch report.result {
            case .published(let publication): ("published", "ipfs://\(publication.metadata)")
            case .noQuorum(let reason): ("no_quorum", reason)
            case .failed(let reason): ("failed", reason)
            case .superseded(let reason): ("superseded", reason)
            case .deferred(let reason): ("deferred", reason)
            }
        if format == .json {
            var line: [String: JSONValue] = [
                "event": "job", "job": .number(report.jobId), "token": .string(report.token.description), "status": .string(status),
                "seconds": .decimal((report.seconds * 1000).rounded() / 1000),
            ]
            if case .published(let publication) = report.result {
                line["metadata"] = .string("ipfs://\(publication.metadata)")
                line["image"] = .string("ipfs://\(publication.image)")
                line["directory"] = .string("ipfs://\(publication.directory)")
            } else if let detail {
                line["reason"] = .string(detail)
            }
            if let quorum = report.quorum { line["quorum"] = .string(quorum) }
            emit(.object(line))
            return
        }
        if case .published = report.result {} else {
            clearBar()
            FileHandle.standardError.write(Data("  \(report.token): \(status)\(detail.map { " — \($0)" } ?? "")\n".utf8))
        }
        drawBar(done: done, total: total)
    }

    private func finished(_ summary: BatchSummary) {
        if format == .json {
            emit([
                "event": "summary", "batch": summary.batch.map { .number($0) } ?? .null, "published": .number(summary.published),
                "noQuorum": .number(summary.noQuorum), "failed": .number(summary.failed), "superseded": .number(summary.superseded),
                "deferred": .number(summary.deferred), "root": summary.root.map { .string("ipfs://\($0)") } ?? .null,
                "car": summary.car.map { .string($0) } ?? .null, "sheet": summary.sheet.map { .string($0) } ?? .null,
                "manifest": summary.manifest.map { .string($0) } ?? .null, "problems": .array(summary.problems.map { .string($0) }),
                "transactions": .number(summary.transactions.count), "seconds": .decimal((summary.seconds * 1000).rounded() / 1000), "exitCode": .number(Int(summary.exitCode)),
            ])
            return
        }
        clearBar()
        guard let batch = summary.batch else {
            print("nothing to do: every token is up to date" + (summary.noQuorum > 0 ? " except \(summary.noQuorum) without quorum" : ""))
            return
        }
        let rate = summary.seconds > 0 ? Double(summary.published) / summary.seconds : 0
        print("batch \(batch): \(summary.published) published, \(summary.noQuorum) without quorum, \(summary.failed) failed, "
            + "\(summary.superseded) superseded in \(String(format: "%.1f", summary.seconds)) s (\(String(format: "%.1f", rate)) tokens/s)")
        if let root = summary.root { print("  root     ipfs://\(root)") }
        if let car = summary.car { print("  car      \(car)") }
        if let sheet = summary.sheet { print("  sheet    \(sheet)") }
        if let manifest = summary.manifest { print("  manifest \(manifest)") }
    }

    private func drawBar(done: Int, total: Int) {
        guard isatty(STDERR_FILENO) == 1 else { return }
        let now = ContinuousClock.now
        let started = state.withLock { state -> ContinuousClock.Instant? in
            if let last = state.lastDraw, now - last < .milliseconds(100), done < total { return nil }
            state.lastDraw = now
            return state.started
        }
        guard let started else { return }
        let elapsed = now - started
        let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        let rate = seconds > 0 ? Double(done) / seconds : 0
        let eta = rate > 0 ? Double(total - done) / rate : 0
        let width = 30, filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        FileHandle.standardError.write(Data("\r\(bar) \(done)/\(total)  \(String(format: "%.1f", rate)) tok/s  ETA \(Int(eta.rounded())) s ".utf8))
    }

    private func clearBar() {
        guard isatty(STDERR_FILENO) == 1 else { return }
        FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
    }

    private func emit(_ value: JSONValue) {
        guard let text = try? value.canonicalString() else { return }
        print(text)
        fflush(nil)
    }
}

extension Configuration {
    /// The token `CONTRACT:ID` (also `CONTRACT#ID`, `CONTRACT/ID`) names, or `ID` alone when kiln.yml watches one
    /// contract; nil when `target` is neither.
    func token(_ target: String) -> TokenKey? {
        let parts = target.split(whereSeparator: { $0 == ":" || $0 == "#" || $0 == "/" }).map(String.init)
        if parts.count == 2, let contract = try? Address(hex: parts[0]) {
            return TokenKey(chainId: chainId, contract: contract, tokenId: parts[1])
        }
        if parts.count == 1, contracts.count == 1 { return TokenKey(chainId: chainId, contract: contracts[0].address, tokenId: parts[0]) }
        return nil
    }
}

extension SQLiteStore {
    /// The latest publication of `token`, or an error saying it has none.
    func published(_ token: TokenKey) throws -> Publication {
        guard let publication = try latestPublication(token) else { throw CLIError("\(token) has not been published by this store") }
        return publication
    }
}
