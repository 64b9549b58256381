// Kiln — Apache-2.0. See LICENSE.

internal import GRDB
internal import struct Foundation.Data
internal import Synchronization
public import KilnCore

/// The SQLite ``Store`` (GRDB over the system SQLite): WAL mode, foreign keys on, migrations, one transaction per
/// call, and a 10-second busy timeout so several `kiln batch` processes can share one file.
public final class SQLiteStore: Store, PublicationCounting {
    let pool: DatabasePool
    /// The database file.
    public let path: String
    /// A read-only connection of its own for ``countPublicationsNow()``, opened when first asked for.
    let counter = Mutex<DatabaseQueue?>(nil)

    /// The database file.
    public var location: String { path }
    /// Blocks stay in the local blockstore folder.
    public var sharesBlocks: Bool { false }

    /// Seconds a call waits for another process's write transaction before giving up.
    static let busyTimeout: Double = 10

    /// Opens (and creates or migrates) the database at `path`.
    public init(path: String) throws(StoreError) {
        self.path = path
        var configuration = Configuration()
        configuration.busyMode = .timeout(Self.busyTimeout)
        configuration.foreignKeysEnabled = true
        do {
            // Two processes opening a new file at once would both switch it to WAL (a step the busy timeout does
            // not cover: SQLite answers "database is locked" at once) and both migrate it: one at a time, under an
            // exclusive flock on `<path>.migrate` (held for milliseconds; the kernel drops it if the process dies).
            let lock = try FileLock.lockBlocking(path + ".migrate")
            defer { withExtendedLifetime(lock) {} }
            pool = try DatabasePool(path: path, configuration: configuration)
            // A store a newer kiln has migrated is left alone: this one would not know its tables.
            let migrator = Self.migrator
            let unknown = try pool.read { db in
                try migrator.appliedIdentifiers(db).subtracting(migrator.migrations).sorted()
            }
            guard unknown.isEmpty else {
                throw StoreError(
                    .open,
                    "The store '\(path)' was written by a newer kiln (schema \(unknown.joined(separator: ", ")), which "
                        + "this kiln does not know): upgrade kiln; nothing was changed"
                )
            }
            try migrator.migrate(pool)
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(
                .open,
                "Unable to open the store '\(path)': \(Self.reason(error, path: path))",
                cause: error
            )
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.create(table: "chain_cursor") { t in
                t.primaryKey("chain_id", .integer)
                t.column("block_number", .integer).notNull()
                t.column("block_hash", .text).notNull()
            }
            try db.create(table: "events") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("chain_id", .integer).notNull()
                t.column("contract", .text).notNull()
                t.column("block_number", .integer).notNull()
                t.column("block_hash", .text).notNull()
                t.column("transaction_hash", .text)
                t.column("log_index", .integer).notNull()
                t.column("topics", .text).notNull()
                t.column("data", .blob).notNull()
                t.column("removed", .boolean).notNull().defaults(to: false)
                t.uniqueKey(["chain_id", "block_hash", "log_index"])
            }
            try db.create(
                index: "events_by_contract",
                on: "events",
                columns: ["chain_id", "contract", "block_number", "log_index"]
            )
            try db.create(table: "token_state") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("chain_id", .integer).notNull()
                t.column("contract", .text).notNull()
                t.column("token_id", .text).notNull()
                t.column("version", .integer).notNull()
                t.column("state_json", .text).notNull()
                t.column("state_hash", .text).notNull()
                t.uniqueKey(["chain_id", "contract", "token_id", "version"])
            }
            try db.create(table: "jobs") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("chain_id", .integer).notNull()
                t.column("contract", .text).notNull()
                t.column("token_id", .text).notNull()
                t.column("state_version", .integer).notNull()
                t.column("state_hash", .text).notNull()
                t.column("template_hash", .text).notNull()
                t.column("status", .text).notNull().check {
                    ["queued", "leased", "done", "failed", "no_quorum"].contains($0)
                }
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("lease_owner", .text)
                t.column("lease_until", .double)
                t.column("last_error", .text)
                t.uniqueKey(["chain_id", "contract", "token_id", "state_hash", "template_hash"])
            }
        }
        migrator.registerMigration("v2: batches and publications", migrate: migrateV2)
        migrator.registerMigration("v3: workers", migrate: migrateV3)
        migrator.registerMigration("v4: source marks") { db in
            try db.create(table: "source_marks") { t in
                t.primaryKey("source", .text)
                t.column("byte_offset", .integer).notNull()
                t.column("line_count", .integer).notNull()
                t.column("prefix_hash", .text).notNull()
            }
        }
        migrator.registerMigration("v5: ipfs pushes") { db in
            try db.create(table: "ipfs_pushes") { t in
                t.column("batch", .integer).notNull()
                t.column("target", .text).notNull()
                t.column("root", .text).notNull()
                t.column("car", .text).notNull()
                t.column("status", .text).notNull()
                t.column("request_id", .text)
                t.column("attempts", .integer).notNull().defaults(to: 0)
                t.column("last_error", .text)
                t.column("updated", .double).notNull()
                t.primaryKey(["batch", "target"])
            }
        }
        migrator.registerMigration("v6: runs") { db in
            try db.create(table: "runs") { t in
                t.primaryKey("kind", .text)  // 'last' or 'clean'
                t.column("finished", .double).notNull()
                t.column("batch", .integer)
                t.column("published", .integer).notNull()
                t.column("exit_code", .integer).notNull()
            }
        }
        migrator.registerMigration("v7: published tokens and job indexes", migrate: migrateV7)
        migrator.registerMigration("v8: topic indexes") { db in
            // A token's logs by the topic that names it (verify, and the fold of the tokens new logs touch).
            for position in 1...3 {
                try db.execute(
                    sql:
                        "CREATE INDEX events_by_topic\(position) ON events (substr(topics, \(topicStart(position)), 66))"
                )
            }
        }
        migrator.registerMigration("v9: output marks") { db in
            // What `manifest.json` holds (`OutputMark`), so a batch merges what changed into it.
            try db.create(table: "output_marks") { t in
                t.primaryKey("name", .text)
                t.column("publication", .integer).notNull()
                t.column("stamp", .text).notNull()
            }
        }
        return migrator
    }

    /// Runs `body` in a write transaction on GRDB's own queue, suspending (never blocking) the calling task.
    /// `what` is only built for an error message.
    func write<T: Sendable>(_ what: @autoclosure () -> String, _ body: @escaping @Sendable (Database) throws -> T)
        async throws(StoreError)
        -> T
    {
        do { return try await pool.write(body) } catch let error as StoreError { throw error } catch {
            throw StoreError(code(error), "Unable to \(what()): \(reason(error))", cause: error)
        }
    }

    /// ``StoreError/Code/unwritable`` for a full disk, a read-only file or an I/O error; else `database`.
    func code(_ error: any Error) -> StoreError.Code {
        guard let error = error as? DatabaseError else { return .database }
        switch error.resultCode {
        case .SQLITE_FULL, .SQLITE_READONLY, .SQLITE_IOERR: return .unwritable
        default: return .database
        }
    }

    /// What an SQLite error means for whoever runs kiln: a busy or read-only store said in words.
    func reason(_ error: any Error) -> String { Self.reason(error, path: path) }

    /// ``reason(_:)`` for the store at `path`.
    static func reason(_ error: any Error, path: String) -> String {
        guard let error = error as? DatabaseError else { return "\(error)" }
        switch error.resultCode {
        case .SQLITE_BUSY, .SQLITE_LOCKED:
            return "the store '\(path)' is busy: another process has held a write transaction on it for longer than "
                + "the busy timeout (\(Int(Self.busyTimeout)) s); nothing was written (\(error.message ?? "database is locked"))"
        case .SQLITE_READONLY:
            return "the store '\(path)' cannot be written (the file or its folder is read-only for this user, or the "
                + "disk is mounted read-only); nothing was written (\(error.message ?? "readonly database"))"
        case .SQLITE_FULL:
            return "the disk holding the store '\(path)' is full; nothing was written"
        default:
            return "\(error)"
        }
    }

    /// Runs `body` in a read transaction on GRDB's own queue, suspending (never blocking) the calling task.
    /// `what` is only built for an error message (most name a token: its checksummed address costs a hash).
    func read<T: Sendable>(_ what: @autoclosure () -> String, _ body: @escaping @Sendable (Database) throws -> T)
        async throws(StoreError) -> T
    {
        do { return try await pool.read(body) } catch {
            throw StoreError(code(error), "Unable to \(what()): \(reason(error))", cause: error)
        }
    }

    // MARK: - Events

    public func cursor(chainId: UInt64) async throws(StoreError) -> (block: UInt64, hash: Bytes32)? {
        try await read("read the chain cursor") { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT block_number, block_hash FROM chain_cursor WHERE chain_id = ?",
                    arguments: [Int64(chainId)]
                )
            else {
                return nil
            }
            let block: Int64 = row["block_number"]
            let hash: String = row["block_hash"]
            return (UInt64(block), try Bytes32(hex: hash))
        }
    }

    public func record(_ logs: [EventLog], chainId: UInt64, cursor: (block: UInt64, hash: Bytes32))
        async throws(StoreError)
    {
        try await write("record \(logs.count) logs") { db in
            for log in logs {
                guard let block = log.blockNumber, let hash = log.blockHash, let index = log.logIndex else {
                    throw StoreError(
                        .invalidArgument,
                        "Unable to record a log without block number, block hash and log index"
                    )
                }
                try db.run(
                    cached: """
                        INSERT INTO events (chain_id, contract, block_number, block_hash, transaction_hash, log_index, topics, data, removed)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (chain_id, block_hash, log_index) DO UPDATE SET removed = excluded.removed
                        """,
                    [
                        Int64(chainId), log.address.lowercased, Int64(block), hash.hex, log.transactionHash?.hex,
                        Int64(index),
                        log.topics.map(\.hex).joined(separator: ","), Data(log.data), log.removed,
                    ]
                )
            }
            try db.execute(
                sql:
                    "INSERT INTO chain_cursor (chain_id, block_number, block_hash) VALUES (?, ?, ?) ON CONFLICT (chain_id) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash",
                arguments: [Int64(chainId), Int64(cursor.block), cursor.hash.hex]
            )
        }
    }

    public func rewind(chainId: UInt64, to block: UInt64, hash: Bytes32) async throws(StoreError) {
        try await write("rewind to block \(block)") { db in
            try db.execute(
                sql: "UPDATE events SET removed = 1 WHERE chain_id = ? AND block_number > ?",
                arguments: [Int64(chainId), Int64(block)]
            )
            try db.execute(
                sql: "UPDATE chain_cursor SET block_number = ?, block_hash = ? WHERE chain_id = ?",
                arguments: [Int64(block), hash.hex, Int64(chainId)]
            )
        }
    }

    public func blockHashes(chainId: UInt64, below block: UInt64, limit: Int) async throws(StoreError) -> [(
        block: UInt64, hash: Bytes32
    )] {
        try await read("read the recorded block hashes") { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT DISTINCT block_number, block_hash FROM events WHERE chain_id = ? AND block_number < ? AND removed = 0
                    ORDER BY block_number DESC LIMIT ?
                    """,
                arguments: [Int64(chainId), Int64(clamping: block), limit]
            ).map { row in
                let number: Int64 = row["block_number"]
                let hash: String = row["block_hash"]
                return (UInt64(number), try Bytes32(hex: hash))
            }
        }
    }

    public func logs(chainId: UInt64, contract: Address, after block: UInt64?) async throws(StoreError) -> [EventLog] {
        try await read("read the logs of \(contract)") { db in
            try Row.fetchAll(
                db,
                HotQuery.logsAfter.request([Int64(chainId), contract.lowercased, block.map { Int64($0) } ?? -1])
            ).map { try Self.log($0, contract: contract) }
        }
    }

    public func logs(chainId: UInt64, contract: Address, naming word: Bytes32, at positions: Set<Int>)
        async throws(StoreError) -> [EventLog]
    {
        let positions = positions.filter { (1...3).contains($0) }.sorted()
        guard !positions.isEmpty else { return [] }
        return try await read("read the logs naming \(word.hex) of \(contract)") { db in
            try Row.fetchAll(
                db,
                sql: Self.namingSQL(positions),
                arguments: StatementArguments(
                    positions.flatMap { _ -> [any DatabaseValueConvertible] in
                        [word.hex, Int64(chainId), contract.lowercased]
                    }
                )
            ).map { try Self.log($0, contract: contract) }
        }
    }

    /// One indexed lookup per topic position (`events_by_topicN`), united, in chain order. `+chain_id`, `+contract`:
    /// without them SQLite (no statistics) reads events_by_contract in chain order — every log of the contract —
    /// to save the sort of the few rows the topic finds.
    static func namingSQL(_ positions: [Int]) -> String {
        positions.map {
            "SELECT * FROM events WHERE substr(topics, \(topicStart($0)), 66) = ? AND +chain_id = ? AND +contract = ? AND removed = 0"
        }.joined(separator: " UNION ") + " ORDER BY block_number, log_index"
    }

    static func log(_ row: Row, contract: Address) throws -> EventLog {
        let topics: String = row["topics"]
        let data: Data = row["data"]
        let block: Int64 = row["block_number"], index: Int64 = row["log_index"]
        let blockHash: String = row["block_hash"]
        let tx: String? = row["transaction_hash"]
        return EventLog(
            address: contract,
            topics: try topics.split(separator: ",").map { try Bytes32(hex: $0) },
            data: Array(data),
            blockNumber: UInt64(block),
            blockHash: try Bytes32(hex: blockHash),
            transactionHash: try tx.map { try Bytes32(hex: $0) },
            logIndex: UInt64(index)
        )
    }

    // MARK: - State and jobs

    public func saveState(_ token: TokenKey, json: JSONValue, hash: Bytes32) async throws(StoreError) -> (
        version: Int, changed: Bool
    ) {
        let text: String
        do { text = try json.canonicalString() } catch {
            throw StoreError(.invalidArgument, "Unable to save the state of \(token): \(error.message)", cause: error)
        }
        return try await write("save the state of \(token)") { db in
            let key: StatementArguments = [Int64(token.chainId), token.contract.lowercased, token.tokenId]
            let latest = try Row.fetchOne(
                db,
                SQLRequest(
                    sql:
                        "SELECT version, state_hash FROM token_state WHERE chain_id = ? AND contract = ? AND token_id = ? ORDER BY version DESC LIMIT 1",
                    arguments: key,
                    cached: true
                )
            )
            if let latest, (latest["state_hash"] as String) == hash.hex { return (latest["version"] as Int, false) }
            let version = (latest?["version"] as Int? ?? 0) + 1
            try db.run(
                cached:
                    "INSERT INTO token_state (chain_id, contract, token_id, version, state_json, state_hash) VALUES (?, ?, ?, ?, ?, ?)",
                key + [version, text, hash.hex]
            )
            return (version, true)
        }
    }

    public func enqueue(
        _ token: TokenKey,
        stateVersion: Int,
        stateHash: Bytes32,
        templateHash: Bytes32,
        referenceBlock: UInt64
    ) async throws(StoreError) -> (job: Job, created: Bool) {
        try await write("queue a job for \(token)") { db in
            let key: StatementArguments = [
                Int64(token.chainId), token.contract.lowercased, token.tokenId, stateHash.hex, templateHash.hex,
            ]
            let find =
                "SELECT * FROM jobs WHERE chain_id = ? AND contract = ? AND token_id = ? AND state_hash = ? AND template_hash = ?"
            let request = SQLRequest<Row>(sql: find, arguments: key, cached: true)
            if let row = try Row.fetchOne(db, request) { return (try Self.job(row), false) }
            try db.run(
                cached:
                    "INSERT INTO jobs (chain_id, contract, token_id, state_version, state_hash, template_hash, status, reference_block) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?)",
                [
                    Int64(token.chainId), token.contract.lowercased, token.tokenId, stateVersion, stateHash.hex,
                    templateHash.hex, Int64(referenceBlock),
                ]
            )
            return (try Self.job(try Row.fetchOne(db, request)!), true)
        }
    }

    public func lease(owner: String, limit: Int, seconds: Double, now: Double, batch: Int?, only: [Int64]?)
        async throws(StoreError) -> [Job]
    {
        // One UPDATE … RETURNING inside an immediate transaction: SQLite serialises writers, so two workers can't
        // take the same row.
        try await write("lease jobs") { db in
            if let batch,
                try Int.fetchOne(
                    db,
                    SQLRequest(
                        sql: "SELECT 1 FROM batches WHERE number = ? AND status = 'open'",
                        arguments: [batch],
                        cached: true
                    )
                )
                    == nil
            {
                return []
            }
            var filter = ""
            var arguments: StatementArguments = [owner, now + seconds, batch, now, limit]
            if let only {
                // Numbered, as the query's other parameters: the same list in each of its three searches.
                filter = " AND id IN (\(only.indices.map { "?\($0 + 6)" }.joined(separator: ",")))"
                arguments += StatementArguments(only)
            }
            // The usual lease (no `only`) by a statement the connection keeps; a list of ids varies.
            return try Row.fetchAll(
                db,
                SQLRequest(
                    sql: HotQuery.leaseJobs.sql.replacing("/*only*/", with: filter),
                    arguments: arguments,
                    cached: only == nil
                )
            ).map(Self.job).sorted { $0.id < $1.id }
        }
    }

    public func pendingJobs(batch: Int) async throws(StoreError) -> Int {
        try await read("count the jobs batch \(batch) waits for") { db in
            try Int.fetchOne(
                db,
                HotQuery.pendingJobs.request([batch])
            ) ?? 0
        }
    }

    public func finish(jobId: Int64, owner: String, status: JobStatus, error: String?) async throws(StoreError) {
        try await write("finish job \(jobId)") { db in
            try db.run(
                cached:
                    "UPDATE jobs SET status = ?, lease_owner = NULL, lease_until = NULL, last_error = ? WHERE id = ? AND lease_owner = ?",
                [status.rawValue, error, jobId, owner]
            )
            guard db.changesCount == 1 else {
                throw StoreError(
                    .database,
                    "Unable to finish job \(jobId): it is not leased to '\(owner)' (the lease expired?)"
                )
            }
        }
    }

    public func unfinishedJobs() async throws(StoreError) -> Int {
        try await read("count the unfinished jobs") { db in try Int.fetchOne(db, HotQuery.unfinishedJobs.request()) ?? 0
        }
    }

    public func jobCounts(batch: Int?) async throws(StoreError) -> [JobStatus: Int] {
        try await read("count jobs") { db in
            var counts: [JobStatus: Int] = [:]
            let rows = try Row.fetchAll(
                db,
                // A batch's jobs by the leased_batch index; all of them (kiln status) by the status index.
                sql: batch == nil
                    ? "SELECT status, COUNT(*) AS n FROM jobs GROUP BY status" : HotQuery.batchJobCounts.sql,
                arguments: batch.map { [$0] } ?? []
            )
            for row in rows {
                if let status = JobStatus(rawValue: row["status"]) { counts[status] = row["n"] }
            }
            return counts
        }
    }

    static func job(_ row: Row) throws -> Job {
        Job(
            id: row["id"],
            token: try TokenKey(
                chainId: UInt64(row["chain_id"] as Int64),
                contract: try Address(hex: row["contract"] as String),
                tokenId: row["token_id"]
            ),
            stateVersion: row["state_version"],
            stateHash: try Bytes32(hex: row["state_hash"] as String),
            templateHash: try Bytes32(hex: row["template_hash"] as String),
            status: JobStatus(rawValue: row["status"]) ?? .failed,
            attempts: row["attempts"],
            lastError: row["last_error"],
            referenceBlock: UInt64(row["reference_block"] as Int64? ?? 0),
            batch: row["leased_batch"]
        )
    }
}
