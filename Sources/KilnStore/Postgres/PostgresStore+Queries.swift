// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
internal import PostgresNIO

extension PostgresStore {
    /// The reads whose cost must not grow with the store's history, as the store runs them: ``queryPlans()``
    /// explains each with sample arguments, and a test fails when one would read a table whole (`Seq Scan`).
    enum HotQuery: String, CaseIterable {
        case latestPublication, tokenHistory, pageAfter, pageBefore, collectionTotals, storeTotals
        case batchPublications, jobsByStatus, latestJob, untryEmptyBatch, logsAfter, logsNaming, batchJobCounts
        case unfinishedJobs, publicationsByToken, publicationsAfterRow

        var sql: String {
            switch self {
            case .latestPublication:
                "SELECT * FROM publications WHERE chain_id = $1 AND contract = $2 AND token_id = $3 ORDER BY id DESC LIMIT 1"
            case .tokenHistory:
                "SELECT * FROM publications WHERE chain_id = $1 AND contract = $2 AND token_id = $3 ORDER BY id"
            case .pageAfter:
                """
                SELECT publications.* FROM published_tokens JOIN publications ON publications.id = publication
                WHERE published_tokens.chain_id = $1 AND published_tokens.contract = $2
                    AND (id_length, published_tokens.token_id) > ($3, $4)
                ORDER BY id_length, published_tokens.token_id LIMIT $5
                """
            case .pageBefore:
                """
                SELECT publications.* FROM published_tokens JOIN publications ON publications.id = publication
                WHERE published_tokens.chain_id = $1 AND published_tokens.contract = $2
                    AND (id_length, published_tokens.token_id) < ($3, $4)
                ORDER BY id_length DESC, published_tokens.token_id DESC LIMIT $5
                """
            case .collectionTotals:
                "SELECT tokens, publications, last_batch FROM published_collections WHERE chain_id = $1 AND contract = $2"
            case .storeTotals:
                "SELECT sum(tokens)::BIGINT, sum(publications)::BIGINT, max(last_batch) FROM published_collections"
            case .batchPublications:
                "SELECT * FROM publications WHERE batch = $1 ORDER BY id"
            case .jobsByStatus:
                "SELECT * FROM jobs WHERE status = $1 ORDER BY id"
            case .latestJob:
                "SELECT * FROM jobs WHERE chain_id = $1 AND contract = $2 AND token_id = $3 ORDER BY id DESC LIMIT 1"
            case .untryEmptyBatch:
                "UPDATE jobs SET leased_batch = NULL WHERE leased_batch = $1"
            case .logsAfter:
                """
                SELECT * FROM events WHERE chain_id = $1 AND contract = $2 AND block_number > $3 AND NOT removed
                ORDER BY block_number, log_index
                """
            case .logsNaming: PostgresStore.namingSQL([1, 3])
            case .batchJobCounts: "SELECT status, count(*) FROM jobs WHERE leased_batch = $1 GROUP BY status"
            case .unfinishedJobs: "SELECT count(*) FROM jobs WHERE status IN ('queued', 'no_quorum', 'leased')"
            case .publicationsAfterRow: "SELECT * FROM publications WHERE id > $1 ORDER BY id LIMIT $2"
            // The column's own collation (the index's): decimal digits sort alike in every collation.
            case .publicationsByToken:
                """
                SELECT * FROM publications WHERE chain_id = $1 AND contract = $2 AND (token_id, id) > ($3, $4)
                ORDER BY token_id, id LIMIT $5
                """
            }
        }

        /// The query with `values` bound to `$1`, `$2`, ….
        func query(_ values: [any PostgresDynamicTypeEncodable]) -> PostgresQuery {
            var binds = PostgresBindings()
            for value in values { binds.append(value) }
            return PostgresQuery(unsafeSQL: sql, binds: binds)
        }

        /// Arguments that make the planner answer for a real call.
        var sampleArguments: [any PostgresDynamicTypeEncodable] {
            let contract = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
            return switch self {
            case .latestPublication, .tokenHistory, .latestJob: [Int64(31337), contract, "42"]
            case .pageAfter, .pageBefore: [Int64(31337), contract, Int32(2), "42", Int64(48)]
            case .collectionTotals: [Int64(31337), contract]
            case .storeTotals, .unfinishedJobs: []
            case .publicationsByToken: [Int64(31337), contract, "42", Int64(0), Int64(4096)]
            case .batchPublications, .untryEmptyBatch, .batchJobCounts: [Int32(7)]
            case .jobsByStatus: ["failed"]
            case .publicationsAfterRow: [Int64(1_000_000), Int64(4096)]
            case .logsAfter: [Int64(31337), contract, Int64(990)]
            case .logsNaming:
                ["0x000000000000000000000000000000000000000000000000000000000000002a", Int64(31337), contract]
            }
        }
    }

    /// How PostgreSQL would run each of the store's hot reads (`EXPLAIN`), on this database as it is.
    public func queryPlans() async throws(StoreError) -> [QueryPlan] {
        var plans: [QueryPlan] = []
        for hot in HotQuery.allCases {
            let explain = HotQuery.query(hot)(hot.sampleArguments)
            let rows = try await rows(
                "explain \(hot.rawValue)",
                PostgresQuery(unsafeSQL: "EXPLAIN " + explain.sql, binds: explain.binds)
            )
            let lines = try decoding("explain \(hot.rawValue)") { try rows.map { try $0[0].decode(String.self) } }
            let scans = lines.compactMap { line -> String? in
                guard let range = line.firstRange(of: "Seq Scan on ") else { return nil }
                let table = line[range.upperBound...].split(separator: " ").first.map(String.init) ?? ""
                return QueryPlan.historyTables.contains(table) ? table : nil
            }
            plans.append(QueryPlan(name: hot.rawValue, sql: hot.sql, plan: lines, fullScans: scans))
        }
        return plans
    }

    /// Migration 7: see `SQLiteStore.migrateV7` — the same tables, the same sums of what is already published.
    static let publishedTokensMigration = """
        CREATE TABLE published_tokens (
            chain_id BIGINT NOT NULL, contract TEXT NOT NULL, id_length INTEGER NOT NULL,
            token_id TEXT COLLATE "C" NOT NULL, publication BIGINT NOT NULL, versions INTEGER NOT NULL,
            PRIMARY KEY (chain_id, contract, id_length, token_id));
        CREATE TABLE published_collections (
            chain_id BIGINT NOT NULL, contract TEXT NOT NULL, tokens BIGINT NOT NULL, publications BIGINT NOT NULL,
            last_batch INTEGER NOT NULL, PRIMARY KEY (chain_id, contract));
        CREATE INDEX jobs_by_leased_batch ON jobs (leased_batch);
        """ + publishedRowsFromPublications

    public func latestPublications(chainId: UInt64, contract: Address, page: TokenPage) async throws(StoreError)
        -> [Publication]
    {
        let after = page.direction == .after
        let length = Int32(page.from.map { $0.utf8.count } ?? (after ? 0 : 1_000))
        let what = "read a page of \(contract.checksummed)'s tokens"
        let rows = try await rows(
            what,
            (after ? HotQuery.pageAfter : .pageBefore).query([
                Int64(chainId), contract.lowercased, length, page.from ?? "", Int64(max(0, page.limit)),
            ])
        )
        let publications = try decoding(what) { try rows.map(Self.publication) }
        return after ? publications : publications.reversed()
    }

    public func published(chainId: UInt64, contract: Address) async throws(StoreError) -> PublishedTotals {
        let what = "read what \(contract.checksummed) published"
        let rows = try await rows(what, HotQuery.collectionTotals.query([Int64(chainId), contract.lowercased]))
        return try decoding(what) {
            guard let row = rows.first else { return PublishedTotals(tokens: 0, publications: 0, lastBatch: nil) }
            return PublishedTotals(
                tokens: Int(try row[0].decode(Int64.self)),
                publications: Int(try row[1].decode(Int64.self)),
                lastBatch: try row[2].decode(Int?.self)
            )
        }
    }

    public func publishedCollections() async throws(StoreError) -> [(chainId: UInt64, contract: Address)] {
        let what = "list the published collections"
        let rows = try await rows(
            what,
            "SELECT chain_id, contract FROM published_collections ORDER BY chain_id, contract"
        )
        return try decoding(what) {
            try rows.map { (UInt64(try $0[0].decode(Int64.self)), try Address(hex: try $0[1].decode(String.self))) }
        }
    }

    public func publicationsByToken(chainId: UInt64, contract: Address, after: PublicationCursor?, limit: Int)
        async throws(StoreError) -> [(cursor: PublicationCursor, publication: Publication)]
    {
        let what = "read the publications of \(contract.checksummed) by token"
        let rows = try await rows(
            what,
            HotQuery.publicationsByToken.query([
                Int64(chainId), contract.lowercased, after?.tokenId ?? "", after?.row ?? 0, Int64(max(0, limit)),
            ])
        )
        return try decoding(what) {
            try rows.map { row in
                (
                    PublicationCursor(
                        tokenId: try row["token_id"].decode(String.self),
                        row: try row["id"].decode(Int64.self)
                    ),
                    try Self.publication(row)
                )
            }
        }
    }

    public func publications(afterRow row: Int64, limit: Int) async throws(StoreError)
        -> [(row: Int64, publication: Publication)]
    {
        let what = "read the publications after row \(row)"
        let rows = try await rows(what, HotQuery.publicationsAfterRow.query([row, Int64(max(0, limit))]))
        return try decoding(what) {
            try rows.map { row in (try row["id"].decode(Int64.self), try Self.publication(row)) }
        }
    }

    public func outputMark(_ name: String) async throws(StoreError) -> OutputMark? {
        let what = "read what \(name) holds"
        let rows = try await rows(what, "SELECT publication, stamp FROM output_marks WHERE name = \(name)")
        guard let row = rows.first else { return nil }
        return try decoding(what) {
            OutputMark(
                publication: try row["publication"].decode(Int64.self),
                stamp: try row["stamp"].decode(String.self)
            )
        }
    }

    public func setOutputMark(_ name: String, _ mark: OutputMark) async throws(StoreError) {
        _ = try await rows(
            "record what \(name) holds",
            """
            INSERT INTO output_marks (name, publication, stamp) VALUES (\(name), \(mark.publication), \(mark.stamp))
            ON CONFLICT (name) DO UPDATE SET publication = excluded.publication, stamp = excluded.stamp
            """
        )
    }

    public func publishedTotals() async throws(StoreError) -> PublishedTotals {
        let what = "read what the store published"
        let rows = try await rows(what, HotQuery.storeTotals.query([]))
        return try decoding(what) {
            PublishedTotals(
                tokens: Int(try rows.first?[0].decode(Int64?.self) ?? 0),
                publications: Int(try rows.first?[1].decode(Int64?.self) ?? 0),
                lastBatch: try rows.first?[2].decode(Int?.self)
            )
        }
    }
}
