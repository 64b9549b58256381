// Kiln — Apache-2.0. See LICENSE.

internal import GRDB

extension SQLiteStore {
    /// The reads whose cost must not grow with the store's history, as the store runs them: ``queryPlans()``
    /// explains each with sample arguments, and a test fails when one would scan a table whole.
    enum HotQuery: String, CaseIterable {
        case latestPublication, tokenHistory, pageAfter, pageBefore, publishedToken, collectionTotals, storeTotals
        case batchPublications, leaseJobs, pendingJobs, jobsByStatus, latestJob, latestState, untryEmptyBatch
        case logsAfter, logsNaming, batchJobCounts, unfinishedJobs, publicationsByToken, publicationsAfterRow

        /// The query with its arguments, run by a statement each connection prepares once and keeps: preparing
        /// it again (SQLite's parser, GRDB's authorizer) was a fifth of the CPU of a `/history` answer.
        func request(_ arguments: StatementArguments = StatementArguments()) -> SQLRequest<Row> {
            SQLRequest(sql: sql, arguments: arguments, cached: true)
        }

        var sql: String {
            switch self {
            case .latestPublication:
                "SELECT * FROM publications WHERE chain_id = ? AND contract = ? AND token_id = ? ORDER BY id DESC LIMIT 1"
            case .tokenHistory:
                "SELECT * FROM publications WHERE chain_id = ? AND contract = ? AND token_id = ? ORDER BY id"
            case .pageAfter:
                """
                SELECT publications.* FROM published_tokens JOIN publications ON publications.id = publication
                WHERE published_tokens.chain_id = ? AND published_tokens.contract = ?
                    AND (id_length, published_tokens.token_id) > (?, ?)
                ORDER BY id_length, published_tokens.token_id LIMIT ?
                """
            case .pageBefore:
                """
                SELECT publications.* FROM published_tokens JOIN publications ON publications.id = publication
                WHERE published_tokens.chain_id = ? AND published_tokens.contract = ?
                    AND (id_length, published_tokens.token_id) < (?, ?)
                ORDER BY id_length DESC, published_tokens.token_id DESC LIMIT ?
                """
            case .publishedToken:
                "SELECT versions FROM published_tokens WHERE chain_id = ? AND contract = ? AND id_length = ? AND token_id = ?"
            case .collectionTotals:
                "SELECT tokens, publications, last_batch FROM published_collections WHERE chain_id = ? AND contract = ?"
            case .storeTotals:
                "SELECT sum(tokens), sum(publications), max(last_batch) FROM published_collections"
            case .batchPublications:
                "SELECT * FROM publications WHERE batch = ? ORDER BY id"
            case .leaseJobs:
                // ?1 owner, ?2 the lease's end, ?3 the batch, ?4 now, ?5 the limit; `/*only*/` is where `lease(…only:)`
                // adds its `AND id IN (?6, …)`. Each status is read by its own search of `jobs_by_status` (status,
                // id), in id order, stopping at the limit: one condition with an OR made SQLite read every runnable
                // job and sort them all for each lease — in a batch of 10 000 jobs, 2 ms per lease at its start.
                """
                UPDATE jobs SET status = 'leased', lease_owner = ?1, lease_until = ?2, attempts = attempts + 1,
                    leased_batch = coalesce(?3, leased_batch)
                WHERE id IN (
                    SELECT id FROM (
                        SELECT id FROM jobs WHERE status = 'leased' AND lease_until < ?4/*only*/ ORDER BY id LIMIT ?5)
                    UNION ALL
                    SELECT id FROM (
                        SELECT id FROM jobs
                        WHERE status = 'queued' AND (?3 IS NULL OR leased_batch IS NULL OR leased_batch <> ?3)/*only*/
                        ORDER BY id LIMIT ?5)
                    UNION ALL
                    SELECT id FROM (
                        SELECT id FROM jobs
                        WHERE status = 'no_quorum' AND (?3 IS NULL OR leased_batch IS NULL OR leased_batch <> ?3)/*only*/
                        ORDER BY id LIMIT ?5)
                    ORDER BY id LIMIT ?5)
                RETURNING *
                """
            case .pendingJobs:
                """
                SELECT COUNT(*) FROM jobs WHERE status = 'leased'
                    OR (status IN ('queued', 'no_quorum') AND (leased_batch IS NULL OR leased_batch <> ?))
                """
            case .jobsByStatus:
                "SELECT * FROM jobs WHERE status = ? ORDER BY id"
            case .latestJob:
                "SELECT * FROM jobs WHERE chain_id = ? AND contract = ? AND token_id = ? ORDER BY id DESC LIMIT 1"
            case .untryEmptyBatch:
                "UPDATE jobs SET leased_batch = NULL WHERE leased_batch = ?"
            case .logsAfter:
                """
                SELECT * FROM events WHERE chain_id = ? AND contract = ? AND block_number > ? AND removed = 0
                ORDER BY block_number, log_index
                """
            case .logsNaming:
                SQLiteStore.namingSQL([1, 3])
            case .batchJobCounts:
                "SELECT status, COUNT(*) AS n FROM jobs WHERE leased_batch = ? GROUP BY status"
            case .publicationsByToken:
                """
                SELECT * FROM publications WHERE chain_id = ? AND contract = ? AND (token_id, id) > (?, ?)
                ORDER BY token_id, id LIMIT ?
                """
            case .publicationsAfterRow:
                "SELECT * FROM publications WHERE id > ? ORDER BY id LIMIT ?"
            case .unfinishedJobs:
                "SELECT COUNT(*) FROM jobs WHERE status IN ('queued', 'no_quorum', 'leased')"
            case .latestState:
                "SELECT version, state_json, state_hash FROM token_state WHERE chain_id = ? AND contract = ? AND token_id = ? ORDER BY version DESC LIMIT 1"
            }
        }

        /// Arguments that make the planner answer for a real call.
        var sampleArguments: StatementArguments {
            let token: StatementArguments = [31337, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "42"]
            return switch self {
            case .latestPublication, .tokenHistory, .latestJob, .latestState: token
            case .pageAfter, .pageBefore: [31337, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", 2, "42", 48]
            case .publishedToken: [31337, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", 2, "42"]
            case .collectionTotals: [31337, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"]
            case .storeTotals, .unfinishedJobs: []
            case .publicationsByToken: [31337, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "42", 0, 4096]
            case .batchPublications, .pendingJobs, .untryEmptyBatch, .batchJobCounts: [7]
            case .leaseJobs: ["w", 10.0, 7, 1.0, 8]
            case .jobsByStatus: ["failed"]
            case .publicationsAfterRow: [1_000_000, 4096]
            case .logsAfter: [31337, "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", 990]
            case .logsNaming:
                [
                    "0x000000000000000000000000000000000000000000000000000000000000002a", 31337,
                    "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
                    "0x000000000000000000000000000000000000000000000000000000000000002a", 31337,
                    "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed",
                ]
            }
        }
    }

    /// How SQLite would run each of the store's hot reads (`EXPLAIN QUERY PLAN`), on this database as it is.
    public func queryPlans() async throws(StoreError) -> [QueryPlan] {
        try await read("explain the store's queries") { db in
            try HotQuery.allCases.map { query in
                let rows = try Row.fetchAll(
                    db,
                    sql: "EXPLAIN QUERY PLAN " + query.sql,
                    arguments: query.sampleArguments
                )
                let lines: [String] = rows.map { $0["detail"] }
                // "SCAN t" reads a table (or a whole index) from end to end; "SEARCH" seeks. A scan of a subquery's
                // few rows, or of a table with at most a handful (batches), is not one of these.
                // A SEARCH whose only constraint is the chain and contract reads the whole collection's rows: as bad.
                let scans = lines.compactMap { line -> String? in
                    let words = line.split(separator: " ")
                    guard words.count > 1, words[0] == "SCAN" || line.hasSuffix(" (chain_id=? AND contract=?)") else {
                        return nil
                    }
                    let table = String(words[1])
                    return QueryPlan.historyTables.contains(table) ? table : nil
                }
                return QueryPlan(name: query.rawValue, sql: query.sql, plan: lines, fullScans: scans)
            }
        }
    }
}

extension Database {
    /// Runs `sql` by a statement this connection prepares once and keeps, as ``SQLiteStore/HotQuery/request(_:)``
    /// does for reads: `kiln batch` runs a handful of statements per token, and preparing each anew (SQLite's
    /// parser, GRDB's authorizer) was 5 % of its CPU.
    func run(cached sql: String, _ arguments: StatementArguments) throws {
        try cachedStatement(sql: sql).execute(arguments: arguments)
    }
}
