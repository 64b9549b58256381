// Kiln — Apache-2.0. See LICENSE.

internal import GRDB
internal import Synchronization
public import KilnCore

extension SQLiteStore {
    static func migrateV2(_ db: Database) throws {
        try db.alter(table: "jobs") { t in
            t.add(column: "reference_block", .integer).notNull().defaults(to: 0)
        }
        try db.create(index: "jobs_by_token", on: "jobs", columns: ["chain_id", "contract", "token_id", "id"])
        try db.create(table: "folded_templates") { t in
            t.column("chain_id", .integer).notNull()
            t.column("contract", .text).notNull()
            t.column("template_hash", .text).notNull()
            t.column("block_number", .integer).notNull()
            t.primaryKey(["chain_id", "contract"])
        }
        try db.create(table: "batches") { t in
            t.primaryKey("number", .integer)
            t.column("status", .text).notNull().check { ["open", "closed"].contains($0) }
        }
        try db.create(table: "publications") { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("job_id", .integer).notNull().references("jobs")
            t.column("batch", .integer).notNull().references("batches")
            t.column("chain_id", .integer).notNull()
            t.column("contract", .text).notNull()
            t.column("token_id", .text).notNull()
            t.column("state_hash", .text).notNull()
            t.column("template_hash", .text).notNull()
            t.column("directory", .text).notNull()
            t.column("metadata", .text).notNull()
            t.column("image", .text).notNull()
            t.column("thumbnail", .text).notNull()
            t.column("inference", .text)
            t.column("attestation", .text)
            t.column("template", .text).notNull()
        }
        try db.create(
            index: "publications_by_token",
            on: "publications",
            columns: ["chain_id", "contract", "token_id", "id"]
        )
        try db.create(index: "publications_by_batch", on: "publications", columns: ["batch", "id"])
    }

    static func migrateV3(_ db: Database) throws {
        try db.alter(table: "jobs") { t in t.add(column: "leased_batch", .integer) }
        try db.create(table: "workers") { t in
            t.primaryKey("name", .text)
            t.column("host", .text).notNull()
            t.column("started", .double).notNull()
            t.column("seen", .double).notNull()
            t.column("state", .text).notNull()
            t.column("jobs", .integer).notNull()
        }
    }

    /// Each token's latest publication and each collection's totals, kept by ``complete(_:owner:blocks:)`` so that
    /// no read counts or filters the history (the gallery's pages, the metadata API, `kiln status`); indexes for the
    /// job queue's reads, which scanned every job ever made. Existing publications are summed in once.
    static func migrateV7(_ db: Database) throws {
        try db.execute(sql: publishedTokensSchema)
        try db.execute(sql: publishedRowsFromPublications)
    }

    /// The tables and indexes of migration v7 (also what `scripts/bench/scale_store.py` documents it writes).
    static let publishedTokensSchema = """
        CREATE TABLE published_tokens (
            chain_id INTEGER NOT NULL, contract TEXT NOT NULL, id_length INTEGER NOT NULL, token_id TEXT NOT NULL,
            publication INTEGER NOT NULL, versions INTEGER NOT NULL,
            PRIMARY KEY (chain_id, contract, id_length, token_id)) WITHOUT ROWID;
        CREATE TABLE published_collections (
            chain_id INTEGER NOT NULL, contract TEXT NOT NULL, tokens INTEGER NOT NULL, publications INTEGER NOT NULL,
            last_batch INTEGER NOT NULL, PRIMARY KEY (chain_id, contract));
        CREATE INDEX jobs_by_status ON jobs (status, id);
        CREATE INDEX jobs_leased ON jobs (lease_until) WHERE status = 'leased';
        CREATE INDEX jobs_by_leased_batch ON jobs (leased_batch);
        """

    // MARK: - Lock, blocks, workers

    /// An exclusive `flock` on `<path>.lock` (the kernel drops it when the process ends, however it ends).
    public func tryLock() async throws(StoreError) -> StoreLock? {
        try FileLock.tryLock(path + ".lock")
    }

    /// Nothing: blocks stay in the local folder.
    public func keep(_ blocks: [StoredBlock]) async throws(StoreError) {}
    /// None: blocks stay in the local folder.
    public func blockCIDs() async throws(StoreError) -> [String] { [] }
    /// None: blocks stay in the local folder.
    public func blocks(_ cids: [String]) async throws(StoreError) -> [StoredBlock] { [] }

    public func heartbeat(_ worker: WorkerRecord) async throws(StoreError) {
        // A worker's name holds its host and start time: updating every column keeps them as they were.
        try await write("record worker \(worker.name)") { db in try WorkerRow(worker).upsert(db) }
    }

    public func workers() async throws(StoreError) -> [WorkerRecord] {
        try await read("list workers") { db in
            try WorkerRow.order(Column("seen").desc, Column("name")).fetchAll(db).map(\.record)
        }
    }

    public func renewLeases(owner: String, jobs: [Int64], until: Double) async throws(StoreError) -> Int {
        guard !jobs.isEmpty else { return 0 }
        return try await write("renew the leases of \(owner)") { db in
            try db.execute(
                sql: """
                    UPDATE jobs SET lease_until = ? WHERE status = 'leased' AND lease_owner = ?
                    AND id IN (\(databaseQuestionMarks(count: jobs.count)))
                    """,
                arguments: StatementArguments([until, owner] as [any DatabaseValueConvertible] + jobs)
            )
            return db.changesCount
        }
    }

    public func leases() async throws(StoreError) -> [LeaseRecord] {
        try await read("list leases") { db in
            try Row.fetchAll(db, sql: "SELECT * FROM jobs WHERE status = 'leased' ORDER BY id").map { row in
                let job = try Self.job(row)
                return LeaseRecord(
                    jobId: job.id,
                    token: job.token,
                    owner: row["lease_owner"] ?? "",
                    until: row["lease_until"] ?? 0
                )
            }
        }
    }

    // MARK: - States

    public func state(_ token: TokenKey, version: Int?) async throws(StoreError) -> StoredState? {
        try await read("read the state of \(token)") { db in
            var sql =
                "SELECT version, state_json, state_hash FROM token_state WHERE chain_id = ? AND contract = ? AND token_id = ?"
            var arguments: StatementArguments = [Int64(token.chainId), token.contract.lowercased, token.tokenId]
            if let version {
                sql += " AND version = ?"
                arguments += [version]
            }
            guard
                let row = try Row.fetchOne(
                    db,
                    SQLRequest(sql: sql + " ORDER BY version DESC LIMIT 1", arguments: arguments, cached: true)
                )
            else { return nil }
            return StoredState(
                version: row["version"],
                json: try JSONValue.parse(row["state_json"] as String),
                hash: try Bytes32(hex: row["state_hash"] as String)
            )
        }
    }

    public func tokens(chainId: UInt64, contract: Address) async throws(StoreError) -> [TokenKey] {
        try await read("list the tokens of \(contract)") { db in
            try String.fetchAll(
                db,
                sql:
                    "SELECT DISTINCT token_id FROM token_state WHERE chain_id = ? AND contract = ? ORDER BY length(token_id), token_id",
                arguments: [Int64(chainId), contract.lowercased]
            )
            .map { try TokenKey(chainId: chainId, contract: contract, tokenId: $0) }
        }
    }

    public func foldMark(chainId: UInt64, contract: Address) async throws(StoreError) -> (
        templateHash: Bytes32, block: UInt64
    )? {
        try await read("read how far \(contract) is folded") { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT template_hash, block_number FROM folded_templates WHERE chain_id = ? AND contract = ?",
                    arguments: [Int64(chainId), contract.lowercased]
                )
            else { return nil }
            return (try Bytes32(hex: row["template_hash"] as String), UInt64(row["block_number"] as Int64))
        }
    }

    public func setFoldMark(chainId: UInt64, contract: Address, templateHash: Bytes32, block: UInt64)
        async throws(StoreError)
    {
        try await write("record how far \(contract) is folded") { db in
            try db.execute(
                sql: """
                    INSERT INTO folded_templates (chain_id, contract, template_hash, block_number) VALUES (?, ?, ?, ?)
                    ON CONFLICT (chain_id, contract) DO UPDATE SET template_hash = excluded.template_hash, block_number = excluded.block_number
                    """,
                arguments: [Int64(chainId), contract.lowercased, templateHash.hex, Int64(block)]
            )
        }
    }

    public func addPushes(batch: Int, root: String, car: String, targets: [String], now: Double)
        async throws(StoreError)
    {
        try await write("record batch \(batch)'s pushes to IPFS providers") { db in
            for target in targets {
                try db.execute(
                    sql: """
                        INSERT INTO ipfs_pushes (batch, target, root, car, status, updated) VALUES (?, ?, ?, ?, 'pending', ?)
                        ON CONFLICT (batch, target) DO NOTHING
                        """,
                    arguments: [batch, target, root, car, now]
                )
            }
        }
    }

    public func pushes() async throws(StoreError) -> [IPFSPush] {
        try await read("read the pushes to IPFS providers") { db in
            try PushRow.order(Column("batch"), Column("target")).fetchAll(db).map(\.record)
        }
    }

    public func savePush(_ push: IPFSPush) async throws(StoreError) {
        // Only a push `addPushes` recorded is saved (a missing one is left missing, as an UPDATE would).
        try await write("record the push of batch \(push.batch) to \(push.target)") { db in
            if try PushRow.exists(db, key: ["batch": push.batch, "target": push.target]) {
                try PushRow(push).update(db)
            }
        }
    }

    public func recordRun(_ run: RunRecord) async throws(StoreError) {
        try await write("record the run's end") { db in
            for kind in run.exitCode == 0 ? ["last", "clean"] : ["last"] {
                try db.execute(
                    sql: """
                        INSERT INTO runs (kind, finished, batch, published, exit_code) VALUES (?, ?, ?, ?, ?)
                        ON CONFLICT (kind) DO UPDATE SET finished = excluded.finished, batch = excluded.batch,
                            published = excluded.published, exit_code = excluded.exit_code
                        """,
                    arguments: [kind, run.finished, run.batch, run.published, run.exitCode]
                )
            }
        }
    }

    public func runs() async throws(StoreError) -> RunHistory {
        try await read("read the last runs") { db in
            var runs: [String: RunRecord] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT kind, finished, batch, published, exit_code FROM runs") {
                runs[row["kind"]] = RunRecord(
                    finished: row["finished"],
                    batch: row["batch"],
                    published: row["published"],
                    exitCode: row["exit_code"]
                )
            }
            return RunHistory(last: runs["last"], lastClean: runs["clean"])
        }
    }

    public func sourceMark(_ source: String) async throws(StoreError) -> SourceMark? {
        try await read("read how far \(source) was read") { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT byte_offset, line_count, prefix_hash FROM source_marks WHERE source = ?",
                    arguments: [source]
                )
            else { return nil }
            return SourceMark(
                offset: row["byte_offset"],
                lines: row["line_count"],
                prefixHash: try Bytes32(hex: row["prefix_hash"] as String)
            )
        }
    }

    public func setSourceMark(_ source: String, _ mark: SourceMark) async throws(StoreError) {
        try await write("record how far \(source) was read") { db in
            try db.execute(
                sql: """
                    INSERT INTO source_marks (source, byte_offset, line_count, prefix_hash) VALUES (?, ?, ?, ?)
                    ON CONFLICT (source) DO UPDATE SET byte_offset = excluded.byte_offset,
                        line_count = excluded.line_count, prefix_hash = excluded.prefix_hash
                    """,
                arguments: [source, mark.offset, mark.lines, mark.prefixHash.hex]
            )
        }
    }

    // MARK: - Jobs

    public func reclaimLeases(keeping: Set<String>) async throws(StoreError) -> Int {
        try await write("reclaim leases") { db in
            let kept = Array(keeping)
            try db.execute(
                sql: """
                    UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_until = NULL, leased_batch = NULL
                    WHERE status = 'leased' AND lease_owner NOT IN (\(kept.map { _ in "?" }.joined(separator: ",")))
                    """,
                arguments: StatementArguments(kept)
            )
            return db.changesCount
        }
    }

    public func requeue(jobId: Int64) async throws(StoreError) {
        try await write("queue job \(jobId) again") { db in
            try db.execute(
                sql:
                    "UPDATE jobs SET status = 'queued', lease_owner = NULL, lease_until = NULL, last_error = NULL, leased_batch = NULL WHERE id = ?",
                arguments: [jobId]
            )
        }
    }

    public func job(id: Int64) async throws(StoreError) -> Job? {
        try await read("read job \(id)") { db in
            try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]).map(Self.job)
        }
    }

    public func latestJob(_ token: TokenKey) async throws(StoreError) -> Job? {
        try await read("read the latest job of \(token)") { db in
            try Row.fetchOne(
                db,
                HotQuery.latestJob.request([Int64(token.chainId), token.contract.lowercased, token.tokenId])
            ).map(Self.job)
        }
    }

    public func jobs(status: JobStatus) async throws(StoreError) -> [Job] {
        try await read("list \(status.rawValue) jobs") { db in
            try Row.fetchAll(db, HotQuery.jobsByStatus.request([status.rawValue]))
                .map(Self.job)
        }
    }

    // MARK: - Batches and publications

    public func openBatch() async throws(StoreError) -> (number: Int, resumed: Bool) {
        try await write("open a batch") { db in
            if let open = try Int.fetchOne(
                db,
                sql: "SELECT number FROM batches WHERE status = 'open' ORDER BY number LIMIT 1"
            ) {
                return (open, true)
            }
            let next = (try Int.fetchOne(db, sql: "SELECT MAX(number) FROM batches") ?? 0) + 1
            try db.execute(sql: "INSERT INTO batches (number, status) VALUES (?, 'open')", arguments: [next])
            return (next, false)
        }
    }

    public func currentBatch() async throws(StoreError) -> Int? {
        try await read("read the open batch") { db in
            try Int.fetchOne(db, sql: "SELECT number FROM batches WHERE status = 'open' ORDER BY number LIMIT 1")
        }
    }

    public func closeBatch(_ number: Int) async throws(StoreError) {
        try await write("close batch \(number)") { db in
            let published =
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM publications WHERE batch = ?", arguments: [number]) ?? 0
            if published == 0 {
                // The number is used again: its jobs count as untried by the next batch of that number.
                try db.execute(sql: HotQuery.untryEmptyBatch.sql, arguments: [number])
                try db.execute(sql: "DELETE FROM batches WHERE number = ?", arguments: [number])
            } else {
                try db.execute(sql: "UPDATE batches SET status = 'closed' WHERE number = ?", arguments: [number])
            }
        }
    }

    public func complete(_ publication: Publication, owner: String, blocks: [StoredBlock]) async throws(StoreError) {
        try await write("record the publication of \(publication.token)") { db in
            try db.run(
                cached: """
                    INSERT INTO publications (job_id, batch, chain_id, contract, token_id, state_hash, template_hash, directory, metadata, image,
                        thumbnail, inference, attestation, template) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                [
                    publication.jobId, publication.batch, Int64(publication.token.chainId),
                    publication.token.contract.lowercased,
                    publication.token.tokenId, publication.stateHash.hex, publication.templateHash.hex,
                    publication.directory, publication.metadata,
                    publication.image, publication.thumbnail, publication.inference, publication.attestation,
                    publication.template,
                ]
            )
            let publicationId = db.lastInsertedRowID
            try db.run(
                cached:
                    "UPDATE jobs SET status = 'done', lease_owner = NULL, lease_until = NULL, last_error = NULL WHERE id = ? AND lease_owner = ?",
                [publication.jobId, owner]
            )
            guard db.changesCount == 1 else {
                throw StoreError(
                    .database,
                    "Unable to finish job \(publication.jobId): it is not leased to '\(owner)' (the lease expired?)"
                )
            }
            let token = publication.token
            let key: StatementArguments = [Int64(token.chainId), token.contract.lowercased]
            let isNew =
                try Int.fetchOne(
                    db,
                    HotQuery.publishedToken.request(key + [token.tokenId.utf8.count, token.tokenId])
                ) == nil
            try db.run(
                cached: """
                    INSERT INTO published_tokens (chain_id, contract, id_length, token_id, publication, versions)
                    VALUES (?, ?, ?, ?, ?, 1)
                    ON CONFLICT DO UPDATE SET publication = max(publication, excluded.publication), versions = versions + 1
                    """,
                key + [token.tokenId.utf8.count, token.tokenId, publicationId]
            )
            try db.run(
                cached: """
                    INSERT INTO published_collections (chain_id, contract, tokens, publications, last_batch)
                    VALUES (?, ?, ?, 1, ?)
                    ON CONFLICT DO UPDATE SET tokens = tokens + excluded.tokens, publications = publications + 1,
                        last_batch = max(last_batch, excluded.last_batch)
                    """,
                key + [isNew ? 1 : 0, publication.batch]
            )
        }
    }

    public func publications(batch: Int?) async throws(StoreError) -> [Publication] {
        try await read("list publications") { db in
            let rows =
                if let batch {
                    try Row.fetchAll(
                        db,
                        HotQuery.batchPublications.request([batch])
                    )
                } else {
                    try Row.fetchAll(db, sql: "SELECT * FROM publications ORDER BY id")
                }
            return try rows.map(Self.publication)
        }
    }

    public func publications(of token: TokenKey) async throws(StoreError) -> [Publication] {
        try await read("read the publications of \(token)") { db in
            try Row.fetchAll(
                db,
                HotQuery.tokenHistory.request([Int64(token.chainId), token.contract.lowercased, token.tokenId])
            ).map(Self.publication)
        }
    }

    public func latestPublication(_ token: TokenKey) async throws(StoreError) -> Publication? {
        try await read("read the publication of \(token)") { db in
            try Row.fetchOne(
                db,
                HotQuery.latestPublication.request([Int64(token.chainId), token.contract.lowercased, token.tokenId])
            ).map(Self.publication)
        }
    }

    public func latestPublications(chainId: UInt64, contract: Address, page: TokenPage) async throws(StoreError)
        -> [Publication]
    {
        try await read("read a page of \(contract.checksummed)'s tokens") { db in
            // Keyset pagination: seek to the token id (by length, then digits: numeric order) and read `limit` on.
            let after = page.direction == .after
            let from = page.from ?? ""
            // From the start: below every id; from the end: above every id (ids are at most 78 digits).
            let length = page.from.map { $0.utf8.count } ?? (after ? 0 : 1_000)
            let rows = try Row.fetchAll(
                db,
                (after ? HotQuery.pageAfter : HotQuery.pageBefore).request(
                    [Int64(chainId), contract.lowercased, length, from, max(0, page.limit)]
                )
            )
            let publications = try rows.map(Self.publication)
            return after ? publications : publications.reversed()
        }
    }

    public func published(chainId: UInt64, contract: Address) async throws(StoreError) -> PublishedTotals {
        try await read("read what \(contract.checksummed) published") { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    HotQuery.collectionTotals.request([Int64(chainId), contract.lowercased])
                )
            else { return PublishedTotals(tokens: 0, publications: 0, lastBatch: nil) }
            return PublishedTotals(tokens: row[0], publications: row[1], lastBatch: row[2])
        }
    }

    public func publishedTotals() async throws(StoreError) -> PublishedTotals {
        try await read("read what the store published") { db in
            let row = try Row.fetchOne(db, HotQuery.storeTotals.request())
            return PublishedTotals(tokens: row?[0] ?? 0, publications: row?[1] ?? 0, lastBatch: row?[2])
        }
    }

    /// On a read-only connection of the store's own that never waits for a lock (busy: an error at once), run on
    /// the calling thread: a WAL-mode read does not wait for writers, and one row of `published_collections`' sums
    /// is a few microseconds.
    public func countPublicationsNow() throws(StoreError) -> Int {
        do {
            let queue = try counter.withLock { queue in
                if let queue { return queue }
                var configuration = Configuration()
                configuration.readonly = true
                configuration.busyMode = .immediateError
                let opened = try DatabaseQueue(path: path, configuration: configuration)
                queue = opened
                return opened
            }
            return try queue.read { db in try Row.fetchOne(db, HotQuery.storeTotals.request())?[1] ?? 0 }
        } catch {
            throw StoreError(code(error), "Unable to count the publications: \(reason(error))", cause: error)
        }
    }

    public func publishedCollections() async throws(StoreError) -> [(chainId: UInt64, contract: Address)] {
        try await read("list the published collections") { db in
            try Row.fetchAll(
                db,
                sql: "SELECT chain_id, contract FROM published_collections ORDER BY chain_id, contract"
            )
            .map { (UInt64($0[0] as Int64), try Address(hex: $0[1] as String)) }
        }
    }

    public func publicationsByToken(chainId: UInt64, contract: Address, after: PublicationCursor?, limit: Int)
        async throws(StoreError) -> [(cursor: PublicationCursor, publication: Publication)]
    {
        try await read("read the publications of \(contract.checksummed) by token") { db in
            try Row.fetchAll(
                db,
                HotQuery.publicationsByToken.request([
                    Int64(chainId), contract.lowercased, after?.tokenId ?? "", after?.row ?? 0, max(0, limit),
                ])
            ).map { row in
                (PublicationCursor(tokenId: row["token_id"], row: row["id"]), try Self.publication(row))
            }
        }
    }

    public func publications(afterRow row: Int64, limit: Int) async throws(StoreError)
        -> [(row: Int64, publication: Publication)]
    {
        try await read("read the publications after row \(row)") { db in
            try Row.fetchAll(db, HotQuery.publicationsAfterRow.request([row, max(0, limit)])).map { row in
                (row["id"], try Self.publication(row))
            }
        }
    }

    public func outputMark(_ name: String) async throws(StoreError) -> OutputMark? {
        try await read("read what \(name) holds") { db in
            try Row.fetchOne(db, sql: "SELECT publication, stamp FROM output_marks WHERE name = ?", arguments: [name])
                .map { OutputMark(publication: $0["publication"], stamp: $0["stamp"]) }
        }
    }

    public func setOutputMark(_ name: String, _ mark: OutputMark) async throws(StoreError) {
        try await write("record what \(name) holds") { db in
            try db.execute(
                sql: """
                    INSERT INTO output_marks (name, publication, stamp) VALUES (?, ?, ?)
                    ON CONFLICT (name) DO UPDATE SET publication = excluded.publication, stamp = excluded.stamp
                    """,
                arguments: [name, mark.publication, mark.stamp]
            )
        }
    }

    static func publication(_ row: Row) throws -> Publication {
        Publication(
            jobId: row["job_id"],
            batch: row["batch"],
            token: try TokenKey(
                chainId: UInt64(row["chain_id"] as Int64),
                contract: try Address(hex: row["contract"] as String),
                tokenId: row["token_id"]
            ),
            stateHash: try Bytes32(hex: row["state_hash"] as String),
            templateHash: try Bytes32(hex: row["template_hash"] as String),
            directory: row["directory"],
            metadata: row["metadata"],
            image: row["image"],
            thumbnail: row["thumbnail"],
            inference: row["inference"],
            attestation: row["attestation"],
            template: row["template"]
        )
    }
}
