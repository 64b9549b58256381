// Kiln — Apache-2.0. See LICENSE.

import Foundation
import KilnCore
import KilnPipeline
import KilnStore

/// Shows a batch's progress: a bar with rate and ETA on a terminal (stderr), or JSON lines on stdout.
final class Reporter: Sendable {
    let console: Console
    var format: LogFormat { console.format }
    private let bar = ProgressBar()

    init(console: Console) { self.console = console }

    func handle(_ event: BatchEvent) {
        switch event {
        case .synced(let report): synced(report)
        case .started(let batch, let jobs, let resumed):
            bar.restart()
            if format == .json {
                emit(["event": "started", "batch": .number(batch), "jobs": .number(jobs), "resumed": .bool(resumed)])
            } else {
                print("batch \(batch)\(resumed ? " (resumed after an interrupted run)" : ""): \(jobs) job(s)")
            }
        case .job(let report, let done, let total): job(report, done: done, total: total)
        case .waiting(let batch, let jobs):
            if format == .json {
                emit(["event": "waiting", "batch": .number(batch), "jobs": .number(jobs)])
            } else {
                clearBar()
                print("batch \(batch): waiting for \(jobs) job(s) held or not yet taken by kiln workers…")
            }
        case .finishing(let batch):
            if format == .human { clearBar() }
            if format == .human { print("batch \(batch): writing the CAR file, contact sheet and manifest…") }
        case .transaction(let sent):
            if format == .json {
                emit([
                    "event": "transaction", "contract": .string(sent.contract.checksummed), "call": .string(sent.call),
                    "hash": .string(sent.hash.hex),
                    "block": .number(sent.block),
                ])
            } else {
                print("  sent \(sent.call) to \(sent.contract.checksummed): \(sent.hash.hex) (block \(sent.block))")
            }
        case .pushed(let push):
            if format == .json {
                emit([
                    "event": "ipfs", "batch": .number(push.batch), "target": .string(push.target),
                    "status": .string(push.status.rawValue), "root": .string(push.root),
                    "error": push.lastError.map { .string($0) } ?? .null,
                ])
            } else {
                clearBar()
                print(
                    "  batch \(push.batch) → \(push.target): \(push.status.rawValue)"
                        + (push.lastError.map { " (\($0))" } ?? "")
                )
            }
        case .finished(let summary): finished(summary)
        }
    }

    /// A `kiln worker`'s events: one line per job, problems on stderr.
    func worker(_ event: WorkerEvent) {
        switch event {
        case .started(let name): console.say("worker \(name) started", event: "worker-started")
        case .job(let report, let batch): job(report, done: 0, total: 0, batch: batch)
        case .problem(let text): console.warn("problem: \(text)")
        case .stopped(let jobs): console.say("worker stopped after \(jobs) job(s)", event: "worker-stopped")
        }
    }

    /// A stopping worker's jobs in flight did not end within its grace period: it exits, their leases expire.
    func stopGraceExpired(_ grace: Duration) {
        console.say(
            "worker stopped after its grace of \(grace.components.seconds) s with work still in flight (its leases "
                + "expire and another run takes those jobs)",
            event: "worker-stopped"
        )
    }

    func synced(_ report: SyncReport) {
        if format == .json {
            emit([
                "event": "synced", "logs": .number(report.newLogs),
                "through": report.through.map { .number($0) } ?? .null,
                "refolded": .number(report.refolded), "changed": .number(report.changed),
                "queued": .number(report.queued),
                "problems": .array(report.problems.map { .string($0.description) }),
                "notes": .array(report.notes.map { .string($0) }),
            ])
        } else {
            print(
                "sync: \(report.newLogs) new log(s)\(report.through.map { " through block \($0)" } ?? ""), \(report.refolded) token(s) folded, "
                    + "\(report.changed) changed, \(report.queued) job(s) queued"
            )
            for note in report.notes { print("note: \(note)") }
            for problem in report.problems { console.warn("problem: \(problem)") }
        }
    }

    private func job(_ report: JobReport, done: Int, total: Int, batch: Int? = nil) {
        let status = report.result.name
        let detail: String? =
            if case .published(let publication) = report.result { "ipfs://\(publication.metadata)" } else {
                report.result.reason
            }
        if format == .json {
            var line: [String: JSONValue] = [
                "event": "job", "job": .number(report.jobId), "token": .string(report.token.description),
                "status": .string(status),
                "seconds": .decimal((report.seconds * 1000).rounded() / 1000),
            ]
            if case .published(let publication) = report.result {
                line["metadata"] = .string("ipfs://\(publication.metadata)")
                line["image"] = .string("ipfs://\(publication.image)")
                line["directory"] = .string("ipfs://\(publication.directory)")
            } else if let detail {
                line["reason"] = .string(detail)
            }
            if let quorum = report.quorum { line["quorum"] = .string(quorum.description) }
            if let batch { line["batch"] = .number(batch) }
            emit(.object(line))
            return
        }
        if let batch {
            // A worker has no bar: one line per job.
            print("batch \(batch) job \(report.jobId) \(report.token): \(status)\(detail.map { " — \($0)" } ?? "")")
            fflush(nil)
            return
        }
        if case .published = report.result {
        } else {
            clearBar()
            FileHandle.standardError.write(
                Data("  \(report.token): \(status)\(detail.map { " — \($0)" } ?? "")\n".utf8)
            )
        }
        drawBar(done: done, total: total)
    }

    private func finished(_ summary: BatchSummary) {
        if format == .json {
            emit([
                "event": "summary", "batch": summary.batch.map { .number($0) } ?? .null,
                "published": .number(summary.published),
                "publishedByWorkers": .number(summary.publishedByOthers),
                "noQuorum": .number(summary.noQuorum), "failed": .number(summary.failed),
                "superseded": .number(summary.superseded),
                "deferred": .number(summary.deferred), "root": summary.root.map { .string("ipfs://\($0)") } ?? .null,
                "car": summary.car.map { .string($0) } ?? .null, "sheet": summary.sheet.map { .string($0) } ?? .null,
                "manifest": summary.manifest.map { .string($0) } ?? .null,
                "problems": .array(summary.problems.map { .string($0.description) }),
                "transactions": .number(summary.transactions.count),
                "seconds": .decimal((summary.seconds * 1000).rounded() / 1000),
                "exitCode": .number(Int(summary.exitCode)),
            ])
            return
        }
        clearBar()
        guard let batch = summary.batch else {
            print(
                "nothing to do: every token is up to date"
                    + (summary.noQuorum > 0 ? " except \(summary.noQuorum) without quorum" : "")
            )
            return
        }
        let rate = summary.seconds > 0 ? Double(summary.published) / summary.seconds : 0
        print(
            "batch \(batch): \(summary.published) published, \(summary.noQuorum) without quorum, \(summary.failed) failed, "
                + "\(summary.superseded) superseded in \(String(format: "%.1f", summary.seconds)) s (\(String(format: "%.1f", rate)) tokens/s)"
        )
        if summary.publishedByOthers > 0 { print("  \(summary.publishedByOthers) more published by kiln workers") }
        if let root = summary.root { print("  root     ipfs://\(root)") }
        if let car = summary.car { print("  car      \(car)") }
        if let sheet = summary.sheet { print("  sheet    \(sheet)") }
        if let manifest = summary.manifest { print("  manifest \(manifest)") }
    }

    private func drawBar(done: Int, total: Int) { bar.draw(done: done, total: total) }

    private func clearBar() { bar.clear() }

    private func emit(_ value: JSONValue) { console.emit(value) }
}
