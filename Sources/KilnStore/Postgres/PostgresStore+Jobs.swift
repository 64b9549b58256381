// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
internal import NIOCore
internal import PostgresNIO
internal import Synchronization

extension PostgresStore {
    // MARK: - Jobs

    public func enqueue(
        _ token: TokenKey,
        stateVersion: Int,
        stateHash: Bytes32,
        templateHash: Bytes32,
        referenceBlock: UInt64
    ) async throws(StoreError) -> (job: Job, created: Bool) {
        try await transaction("queue a job for \(token)") { [logger] connection in
            let inserted = try await Self.collect(
                try await connection.query(
                    """
                    INSERT INTO jobs (chain_id, contract, token_id, state_version, state_hash, template_hash, status, reference_block)
                    VALUES (\(Int64(token.chainId)), \(token.contract.lowercased), \(token.tokenId), \(stateVersion),
                        \(stateHash.hex), \(templateHash.hex), 'queued', \(Int64(referenceBlock)))
                    ON CONFLICT (chain_id, contract, token_id, state_hash, template_hash) DO NOTHING
                    RETURNING *
                    """,
                    logger: logger
                )
            )
            if let row = inserted.first { return (try Self.job(row), true) }
            let existing = try await Self.collect(
                try await connection.query(
                    """
                    SELECT * FROM jobs WHERE chain_id = \(Int64(token.chainId)) AND contract = \(token.contract.lowercased)
                        AND token_id = \(token.tokenId) AND state_hash = \(stateHash.hex) AND template_hash = \(templateHash.hex)
                    """,
                    logger: logger
                )
            )
            return (try Self.job(existing[0]), false)
        }
    }

    public func lease(owner: String, limit: Int, seconds: Double, now: Double, batch: Int?, only: [Int64]?)
        async throws(StoreError) -> [Job]
    {
        // Two index scans (expired leases, runnable jobs; the partial indexes of migration 2), each locking what
        // it takes and skipping what another worker has locked, rather than one scan past every leased row.
        try await transaction("lease jobs") { [logger] connection in
            // The batch row is shared-locked, so closing the batch waits for this lease and the other way round.
            if let batch {
                let open = try await Self.collect(
                    try await connection.query(
                        "SELECT 1 FROM batches WHERE number = \(batch) AND status = 'open' FOR SHARE",
                        logger: logger
                    )
                )
                if open.isEmpty { return [] }
            }
            // Expired leases first, then runnable jobs: each its own index scan and its own UPDATE (PostgreSQL
            // allows no FOR UPDATE under a UNION).
            let expired = try await Self.collect(
                try await connection.query(
                    """
                    UPDATE jobs SET status = 'leased', lease_owner = \(owner), lease_until = \(now + seconds),
                        attempts = attempts + 1, leased_batch = coalesce(\(batch)::INTEGER, leased_batch)
                    WHERE id IN (
                        SELECT id FROM jobs
                        WHERE status = 'leased' AND lease_until < \(now)
                            AND (\(only)::BIGINT[] IS NULL OR id = ANY(\(only)))
                        ORDER BY id LIMIT \(limit) FOR UPDATE SKIP LOCKED)
                    RETURNING *
                    """,
                    logger: logger
                )
            )
            var rows = expired
            if expired.count < limit {
                rows += try await Self.collect(
                    try await connection.query(
                        """
                        UPDATE jobs SET status = 'leased', lease_owner = \(owner), lease_until = \(now + seconds),
                            attempts = attempts + 1, leased_batch = coalesce(\(batch)::INTEGER, leased_batch)
                        WHERE id IN (
                            SELECT id FROM jobs
                            WHERE status IN ('queued', 'no_quorum')
                                AND (\(batch)::INTEGER IS NULL OR leased_batch IS NULL OR leased_batch <> \(batch))
                                AND (\(only)::BIGINT[] IS NULL OR id = ANY(\(only)))
                            ORDER BY id LIMIT \(limit - expired.count) FOR UPDATE SKIP LOCKED)
                        RETURNING *
                        """,
                        logger: logger
                    )
                )
            }
            return try rows.map(Self.job).sorted { $0.id < $1.id }
        }
    }

    public func pendingJobs(batch: Int) async throws(StoreError) -> Int {
        let rows = try await rows(
            "count the jobs batch \(batch) waits for",
            """
            SELECT count(*) FROM jobs WHERE status = 'leased'
                OR (status IN ('queued', 'no_quorum') AND (leased_batch IS NULL OR leased_batch <> \(batch)))
            """
        )
        return try decoding("count the jobs batch \(batch) waits for") { Int(try rows[0][0].decode(Int64.self)) }
    }

    public func reclaimLeases(keeping: Set<String>) async throws(StoreError) -> Int {
        let rows = try await rows(
            "reclaim leases",
            """
            UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_until = NULL, leased_batch = NULL
            WHERE status = 'leased' AND lease_owner <> ALL(\(Array(keeping))) RETURNING id
            """
        )
        return rows.count
    }

    public func renewLeases(owner: String, jobs: [Int64], until: Double) async throws(StoreError) -> Int {
        guard !jobs.isEmpty else { return 0 }
        return try await rows(
            "renew the leases of \(owner)",
            """
            UPDATE jobs SET lease_until = \(until) WHERE status = 'leased' AND lease_owner = \(owner)
            AND id = ANY(\(jobs)) RETURNING id
            """
        ).count
    }

    public func leases() async throws(StoreError) -> [LeaseRecord] {
        let rows = try await rows("list leases", "SELECT * FROM jobs WHERE status = 'leased' ORDER BY id")
        return try decoding("list leases") {
            try rows.map { row in
                let job = try Self.job(row)
                return LeaseRecord(
                    jobId: job.id,
                    token: job.token,
                    owner: try row["lease_owner"].decode(String?.self) ?? "",
                    until: try row["lease_until"].decode(Double?.self) ?? 0
                )
            }
        }
    }

    public func requeue(jobId: Int64) async throws(StoreError) {
        _ = try await rows(
            "queue job \(jobId) again",
            """
            UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_until = NULL, last_error = NULL, leased_batch = NULL
            WHERE id = \(jobId)
            """
        )
    }

    public func job(id: Int64) async throws(StoreError) -> Job? {
        let rows = try await rows("read job \(id)", "SELECT * FROM jobs WHERE id = \(id)")
        return try decoding("read job \(id)") { try rows.first.map(Self.job) }
    }

    public func latestJob(_ token: TokenKey) async throws(StoreError) -> Job? {
        let rows = try await rows(
            "read the latest job of \(token)",
            HotQuery.latestJob.query([Int64(token.chainId), token.contract.lowercased, token.tokenId])
        )
        return try decoding("read the latest job of \(token)") { try rows.first.map(Self.job) }
    }

    public func finish(jobId: Int64, owner: String, status: JobStatus, error: String?) async throws(StoreError) {
        let rows = try await rows(
            "finish job \(jobId)",
            """
            UPDATE jobs SET status = \(status.rawValue), lease_owner = NULL, lease_until = NULL, last_error = \(error)
            WHERE id = \(jobId) AND lease_owner = \(owner) RETURNING id
            """
        )
        guard rows.count == 1 else {
            throw StoreError(
                .database,
                "Unable to finish job \(jobId): it is not leased to '\(owner)' (the lease expired?)"
            )
        }
    }

    public func unfinishedJobs() async throws(StoreError) -> Int {
        let rows = try await rows("count the unfinished jobs", HotQuery.unfinishedJobs.query([]))
        return try decoding("count the unfinished jobs") { Int(try rows.first?[0].decode(Int64.self) ?? 0) }
    }

    public func jobCounts(batch: Int?) async throws(StoreError) -> [JobStatus: Int] {
        let rows = try await rows(
            "count jobs",
            // A batch's jobs by the leased_batch index; all of them (kiln status) by the status index.
            batch.map { HotQuery.batchJobCounts.query([Int32($0)]) }
                ?? "SELECT status, count(*) FROM jobs GROUP BY status"
        )
        return try decoding("count jobs") {
            var counts: [JobStatus: Int] = [:]
            for row in rows {
                if let status = JobStatus(rawValue: try row[0].decode(String.self)) {
                    counts[status] = Int(try row[1].decode(Int64.self))
                }
            }
            return counts
        }
    }

    public func jobs(status: JobStatus) async throws(StoreError) -> [Job] {
        let rows = try await rows(
            "list \(status.rawValue) jobs",
            HotQuery.jobsByStatus.query([status.rawValue])
        )
        return try decoding("list \(status.rawValue) jobs") { try rows.map(Self.job) }
    }

    static func job(_ row: PostgresRandomAccessRow) throws -> Job {
        Job(
            id: try row["id"].decode(Int64.self),
            token: try TokenKey(
                chainId: UInt64(try row["chain_id"].decode(Int64.self)),
                contract: try Address(hex: try row["contract"].decode(String.self)),
                tokenId: try row["token_id"].decode(String.self)
            ),
            stateVersion: try row["state_version"].decode(Int.self),
            stateHash: try Bytes32(hex: try row["state_hash"].decode(String.self)),
            templateHash: try Bytes32(hex: try row["template_hash"].decode(String.self)),
            status: JobStatus(rawValue: try row["status"].decode(String.self)) ?? .failed,
            attempts: try row["attempts"].decode(Int.self),
            lastError: try row["last_error"].decode(String?.self),
            referenceBlock: UInt64(try row["reference_block"].decode(Int64.self)),
            batch: try row["leased_batch"].decode(Int?.self)
        )
    }

    // MARK: - Batches and publications

    public func openBatch() async throws(StoreError) -> (number: Int, resumed: Bool) {
        let token = fence.withLock { $0 }
        return try await transaction("open a batch") { [logger] connection in
            try await Self.checkFence(token, "open a batch", on: connection, logger: logger)
            try await connection.query("LOCK TABLE batches IN EXCLUSIVE MODE", logger: logger)
            let open = try await Self.collect(
                try await connection.query(
                    "SELECT number FROM batches WHERE status = 'open' ORDER BY number LIMIT 1",
                    logger: logger
                )
            )
            if let row = open.first { return (try row[0].decode(Int.self), true) }
            let last = try await Self.collect(
                try await connection.query("SELECT coalesce(max(number), 0) FROM batches", logger: logger)
            )
            let next = try last[0][0].decode(Int.self) + 1
            try await connection.query("INSERT INTO batches (number, status) VALUES (\(next), 'open')", logger: logger)
            return (next, false)
        }
    }

    public func currentBatch() async throws(StoreError) -> Int? {
        let rows = try await rows(
            "read the open batch",
            "SELECT number FROM batches WHERE status = 'open' ORDER BY number LIMIT 1"
        )
        return try decoding("read the open batch") { try rows.first?[0].decode(Int.self) }
    }

    public func closeBatch(_ number: Int) async throws(StoreError) {
        let token = fence.withLock { $0 }
        try await transaction("close batch \(number)") { [logger] connection in
            try await Self.checkFence(token, "close batch \(number)", on: connection, logger: logger)
            try await connection.query("SELECT 1 FROM batches WHERE number = \(number) FOR UPDATE", logger: logger)
            let published = try await Self.collect(
                try await connection.query("SELECT count(*) FROM publications WHERE batch = \(number)", logger: logger)
            )
            if try published[0][0].decode(Int64.self) == 0 {
                // The number is used again: its jobs count as untried by the next batch of that number.
                try await connection.query(HotQuery.untryEmptyBatch.query([Int32(number)]), logger: logger)
                try await connection.query("DELETE FROM batches WHERE number = \(number)", logger: logger)
            } else {
                try await connection.query(
                    "UPDATE batches SET status = 'closed' WHERE number = \(number)",
                    logger: logger
                )
            }
        }
    }

    public func complete(_ publication: Publication, owner: String, blocks: [StoredBlock]) async throws(StoreError) {
        try await transaction("record the publication of \(publication.token)") { [logger] connection in
            let done = try await Self.collect(
                try await connection.query(
                    """
                    UPDATE jobs SET status = 'done', lease_owner = NULL, lease_until = NULL, last_error = NULL
                    WHERE id = \(publication.jobId) AND lease_owner = \(owner) RETURNING id
                    """,
                    logger: logger
                )
            )
            guard done.count == 1 else {
                throw StoreError(
                    .database,
                    "Unable to finish job \(publication.jobId): it is not leased to '\(owner)' (the lease expired?)"
                )
            }
            for block in blocks {
                try await connection.query(
                    "INSERT INTO blocks (cid, bytes) VALUES (\(block.cid), \(ByteBuffer(bytes: block.bytes))) ON CONFLICT (cid) DO NOTHING",
                    logger: logger
                )
            }
            let token = publication.token
            let inserted = try await Self.collect(
                try await connection.query(
                    """
                    INSERT INTO publications (job_id, batch, chain_id, contract, token_id, state_hash, template_hash, directory,
                        metadata, image, thumbnail, inference, attestation, template)
                    VALUES (\(publication.jobId), \(publication.batch), \(Int64(token.chainId)), \(token.contract.lowercased),
                        \(token.tokenId), \(publication.stateHash.hex), \(publication.templateHash.hex), \(publication.directory),
                        \(publication.metadata), \(publication.image), \(publication.thumbnail), \(publication.inference),
                        \(publication.attestation), \(publication.template))
                    RETURNING id
                    """,
                    logger: logger
                )
            )
            let id = try inserted[0][0].decode(Int64.self)
            // `xmax = 0`: the row was inserted, not updated — the token's first publication.
            let head = try await Self.collect(
                try await connection.query(
                    """
                    INSERT INTO published_tokens (chain_id, contract, id_length, token_id, publication, versions)
                    VALUES (\(Int64(token.chainId)), \(token.contract.lowercased), \(Int32(token.tokenId.utf8.count)),
                        \(token.tokenId), \(id), 1)
                    ON CONFLICT (chain_id, contract, id_length, token_id) DO UPDATE SET
                        publication = GREATEST(published_tokens.publication, EXCLUDED.publication),
                        versions = published_tokens.versions + 1
                    RETURNING (xmax = 0)
                    """,
                    logger: logger
                )
            )
            let isNew = try head[0][0].decode(Bool.self)
            try await connection.query(
                """
                INSERT INTO published_collections (chain_id, contract, tokens, publications, last_batch)
                VALUES (\(Int64(token.chainId)), \(token.contract.lowercased), \(Int64(isNew ? 1 : 0)), 1, \(publication.batch))
                ON CONFLICT (chain_id, contract) DO UPDATE SET
                    tokens = published_collections.tokens + EXCLUDED.tokens,
                    publications = published_collections.publications + 1,
                    last_batch = GREATEST(published_collections.last_batch, EXCLUDED.last_batch)
                """,
                logger: logger
            )
        }
    }

    public func publications(batch: Int?) async throws(StoreError) -> [Publication] {
        let rows = try await rows(
            "list publications",
            batch.map { HotQuery.batchPublications.query([Int32($0)]) } ?? "SELECT * FROM publications ORDER BY id"
        )
        return try decoding("list publications") { try rows.map(Self.publication) }
    }

    public func publications(of token: TokenKey) async throws(StoreError) -> [Publication] {
        let rows = try await rows(
            "read the publications of \(token)",
            HotQuery.tokenHistory.query([Int64(token.chainId), token.contract.lowercased, token.tokenId])
        )
        return try decoding("read the publications of \(token)") { try rows.map(Self.publication) }
    }

    public func latestPublication(_ token: TokenKey) async throws(StoreError) -> Publication? {
        let rows = try await rows(
            "read the publication of \(token)",
            HotQuery.latestPublication.query([Int64(token.chainId), token.contract.lowercased, token.tokenId])
        )
        return try decoding("read the publication of \(token)") { try rows.first.map(Self.publication) }
    }

    static func publication(_ row: PostgresRandomAccessRow) throws -> Publication {
        Publication(
            jobId: try row["job_id"].decode(Int64.self),
            batch: try row["batch"].decode(Int.self),
            token: try TokenKey(
                chainId: UInt64(try row["chain_id"].decode(Int64.self)),
                contract: try Address(hex: try row["contract"].decode(String.self)),
                tokenId: try row["token_id"].decode(String.self)
            ),
            stateHash: try Bytes32(hex: try row["state_hash"].decode(String.self)),
            templateHash: try Bytes32(hex: try row["template_hash"].decode(String.self)),
            directory: try row["directory"].decode(String.self),
            metadata: try row["metadata"].decode(String.self),
            image: try row["image"].decode(String.self),
            thumbnail: try row["thumbnail"].decode(String.self),
            inference: try row["inference"].decode(String?.self),
            attestation: try row["attestation"].decode(String?.self),
            template: try row["template"].decode(String.self)
        )
    }

    // MARK: - Blocks and workers

    public func keep(_ blocks: [StoredBlock]) async throws(StoreError) {
        guard !blocks.isEmpty else { return }
        try await transaction("keep \(blocks.count) blocks") { [logger] connection in
            for block in blocks {
                try await connection.query(
                    "INSERT INTO blocks (cid, bytes) VALUES (\(block.cid), \(ByteBuffer(bytes: block.bytes))) ON CONFLICT (cid) DO NOTHING",
                    logger: logger
                )
            }
        }
    }

    public func blockCIDs() async throws(StoreError) -> [String] {
        let rows = try await rows("list the stored blocks", "SELECT cid FROM blocks ORDER BY cid")
        return try decoding("list the stored blocks") { try rows.map { try $0[0].decode(String.self) } }
    }

    public func blocks(_ cids: [String]) async throws(StoreError) -> [StoredBlock] {
        let rows = try await rows("read \(cids.count) blocks", "SELECT cid, bytes FROM blocks WHERE cid = ANY(\(cids))")
        return try decoding("read \(cids.count) blocks") {
            try rows.map {
                StoredBlock(
                    cid: try $0[0].decode(String.self),
                    bytes: Array(try $0[1].decode(ByteBuffer.self).readableBytesView)
                )
            }
        }
    }

    public func heartbeat(_ worker: WorkerRecord) async throws(StoreError) {
        _ = try await rows(
            "record worker \(worker.name)",
            """
            INSERT INTO workers (name, host, started, seen, state, jobs)
            VALUES (\(worker.name), \(worker.host), \(worker.started), \(worker.seen), \(worker.state), \(worker.jobs))
            ON CONFLICT (name) DO UPDATE SET seen = excluded.seen, state = excluded.state, jobs = excluded.jobs
            """
        )
    }

    public func workers() async throws(StoreError) -> [WorkerRecord] {
        let rows = try await rows("list workers", "SELECT * FROM workers ORDER BY seen DESC, name")
        return try decoding("list workers") {
            try rows.map { row in
                WorkerRecord(
                    name: try row["name"].decode(String.self),
                    host: try row["host"].decode(String.self),
                    started: try row["started"].decode(Double.self),
                    seen: try row["seen"].decode(Double.self),
                    state: try row["state"].decode(String.self),
                    jobs: try row["jobs"].decode(Int.self)
                )
            }
        }
    }
}
