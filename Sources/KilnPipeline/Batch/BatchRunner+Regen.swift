// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
public import KilnStore

extension BatchRunner {
    /// What `kiln regen` did: the batch summary and the token's publication, when it was published.
    public struct Regeneration: Sendable {
        /// The run's summary (its exit code is the command's).
        public var summary: BatchSummary
        /// The token's new publication, when the job published.
        public var publication: Publication?
    }

    /// Re-runs one token end to end now: syncs, queues its latest job again and runs only that job — a new
    /// inference round, or with `reuseAttested` a re-render from the stored attested output.
    /// Call it under the store's lock (``Store/tryLock()``).
    /// - Throws: ``PipelineError`` when no event of kiln.yml's contracts names the token.
    public func regenerate(
        _ token: TokenKey,
        reuseAttested: Bool,
        progress: @escaping @Sendable (BatchEvent) -> Void
    ) async throws -> Regeneration {
        let report = try await sync()
        guard let job = try await store.latestJob(token) else {
            throw PipelineError(.notFound, "\(token) has no state: no event of kiln.yml's contracts names it")
        }
        try await store.requeue(jobId: job.id)
        if reuseAttested, let latest = try await store.latestPublication(token) {
            try await SharedBlocks.fetch(publications: [latest], from: store, into: blockstore)
        }
        var options = BatchOptions()
        options.onlyJobs = [job.id]
        options.reuseAttested = reuseAttested
        let summary = try await run(options: options, sync: report, progress: progress)
        let publication = await summary.published > 0 ? try store.latestPublication(token) : nil
        return Regeneration(summary: summary, publication: publication)
    }
}
