// Kiln — Apache-2.0. See LICENSE.

public import KilnCore
internal import NIOCore
internal import PostgresNIO

extension PostgresStore {
    // MARK: - Events

    public func cursor(chainId: UInt64) async throws(StoreError) -> (block: UInt64, hash: Bytes32)? {
        let rows = try await rows(
            "read the chain cursor",
            "SELECT block_number, block_hash FROM chain_cursor WHERE chain_id = \(Int64(chainId))"
        )
        guard let row = rows.first else { return nil }
        return try decoding("read the chain cursor") {
            (
                UInt64(try row["block_number"].decode(Int64.self)),
                try Bytes32(hex: try row["block_hash"].decode(String.self))
            )
        }
    }

    public func record(_ logs: [EventLog], chainId: UInt64, cursor: (block: UInt64, hash: Bytes32))
        async throws(StoreError)
    {
        if logs.contains(where: { $0.blockNumber == nil || $0.blockHash == nil || $0.logIndex == nil }) {
            throw StoreError(.invalidArgument, "Unable to record a log without block number, block hash and log index")
        }
        try await transaction("record \(logs.count) logs") { [logger] connection in
            for log in logs {
                let topics = log.topics.map(\.hex).joined(separator: ",")
                try await connection.query(
                    """
                    INSERT INTO events (chain_id, contract, block_number, block_hash, transaction_hash, log_index, topics, data, removed)
                    VALUES (\(Int64(chainId)), \(log.address.lowercased), \(Int64(log.blockNumber!)), \(log.blockHash!.hex),
                        \(log.transactionHash?.hex), \(Int64(log.logIndex!)), \(topics), \(ByteBuffer(bytes: log.data)), \(log.removed))
                    ON CONFLICT (chain_id, block_hash, log_index) DO UPDATE SET removed = excluded.removed
                    """,
                    logger: logger
                )
            }
            try await connection.query(
                """
                INSERT INTO chain_cursor (chain_id, block_number, block_hash) VALUES (\(Int64(chainId)), \(Int64(cursor.block)), \(cursor.hash.hex))
                ON CONFLICT (chain_id) DO UPDATE SET block_number = excluded.block_number, block_hash = excluded.block_hash
                """,
                logger: logger
            )
        }
    }

    public func rewind(chainId: UInt64, to block: UInt64, hash: Bytes32) async throws(StoreError) {
        try await transaction("rewind to block \(block)") { [logger] connection in
            try await connection.query(
                "UPDATE events SET removed = true WHERE chain_id = \(Int64(chainId)) AND block_number > \(Int64(block))",
                logger: logger
            )
            try await connection.query(
                "UPDATE chain_cursor SET block_number = \(Int64(block)), block_hash = \(hash.hex) WHERE chain_id = \(Int64(chainId))",
                logger: logger
            )
        }
    }

    public func blockHashes(chainId: UInt64, below block: UInt64, limit: Int) async throws(StoreError) -> [(
        block: UInt64, hash: Bytes32
    )] {
        let rows = try await rows(
            "read the recorded block hashes",
            """
            SELECT DISTINCT block_number, block_hash FROM events
            WHERE chain_id = \(Int64(chainId)) AND block_number < \(Int64(clamping: block)) AND NOT removed
            ORDER BY block_number DESC LIMIT \(limit)
            """
        )
        return try decoding("read the recorded block hashes") {
            try rows.map {
                (
                    UInt64(try $0["block_number"].decode(Int64.self)),
                    try Bytes32(hex: try $0["block_hash"].decode(String.self))
                )
            }
        }
    }

    public func logs(chainId: UInt64, contract: Address, after block: UInt64?) async throws(StoreError) -> [EventLog] {
        let rows = try await rows(
            "read the logs of \(contract)",
            HotQuery.logsAfter.query([Int64(chainId), contract.lowercased, block.map { Int64($0) } ?? -1])
        )
        return try decoding("read the logs of \(contract)") { try rows.map { try Self.log($0, contract: contract) } }
    }

    public func logs(chainId: UInt64, contract: Address, naming word: Bytes32, at positions: Set<Int>)
        async throws(StoreError) -> [EventLog]
    {
        let positions = positions.filter { (1...3).contains($0) }.sorted()
        guard !positions.isEmpty else { return [] }
        let sql = Self.namingSQL(positions)
        var binds = PostgresBindings()
        binds.append(word.hex)
        binds.append(Int64(chainId))
        binds.append(contract.lowercased)
        let what = "read the logs naming \(word.hex) of \(contract)"
        let rows = try await rows(what, PostgresQuery(unsafeSQL: sql, binds: binds))
        return try decoding(what) { try rows.map { try Self.log($0, contract: contract) } }
    }

    /// One indexed lookup per topic position (`events_by_topicN`), united, in chain order.
    static func namingSQL(_ positions: [Int]) -> String {
        positions.map {
            "SELECT * FROM events WHERE substr(topics, \(topicStart($0)), 66) = $1 AND chain_id = $2 AND contract = $3 AND NOT removed"
        }.joined(separator: " UNION ") + " ORDER BY block_number, log_index"
    }

    static func log(_ row: PostgresRandomAccessRow, contract: Address) throws -> EventLog {
        let data = try row["data"].decode(ByteBuffer.self)
        return EventLog(
            address: contract,
            topics: try row["topics"].decode(String.self).split(separator: ",").map { try Bytes32(hex: $0) },
            data: Array(data.readableBytesView),
            blockNumber: UInt64(try row["block_number"].decode(Int64.self)),
            blockHash: try Bytes32(hex: try row["block_hash"].decode(String.self)),
            transactionHash: try row["transaction_hash"].decode(String?.self).map { try Bytes32(hex: $0) },
            logIndex: UInt64(try row["log_index"].decode(Int64.self))
        )
    }

    // MARK: - States

    public func saveState(_ token: TokenKey, json: JSONValue, hash: Bytes32) async throws(StoreError) -> (
        version: Int, changed: Bool
    ) {
        let text: String
        do { text = try json.canonicalString() } catch {
            throw StoreError(.invalidArgument, "Unable to save the state of \(token): \(error.message)", cause: error)
        }
        return try await transaction("save the state of \(token)") { [logger] connection in
            let key = (Int64(token.chainId), token.contract.lowercased, token.tokenId)
            let latest = try await Self.collect(
                try await connection.query(
                    """
                    SELECT version, state_hash FROM token_state WHERE chain_id = \(key.0) AND contract = \(key.1)
                        AND token_id = \(key.2) ORDER BY version DESC LIMIT 1 FOR UPDATE
                    """,
                    logger: logger
                )
            ).first
            let version = try latest?["version"].decode(Int.self) ?? 0
            if let latest, try latest["state_hash"].decode(String.self) == hash.hex { return (version, false) }
            try await connection.query(
                """
                INSERT INTO token_state (chain_id, contract, token_id, version, state_json, state_hash)
                VALUES (\(key.0), \(key.1), \(key.2), \(version + 1), \(text), \(hash.hex))
                """,
                logger: logger
            )
            return (version + 1, true)
        }
    }

    public func state(_ token: TokenKey, version: Int?) async throws(StoreError) -> StoredState? {
        let rows = try await rows(
            "read the state of \(token)",
            """
            SELECT version, state_json, state_hash FROM token_state
            WHERE chain_id = \(Int64(token.chainId)) AND contract = \(token.contract.lowercased) AND token_id = \(token.tokenId)
                AND (\(version)::INTEGER IS NULL OR version = \(version))
            ORDER BY version DESC LIMIT 1
            """
        )
        guard let row = rows.first else { return nil }
        return try decoding("read the state of \(token)") {
            StoredState(
                version: try row["version"].decode(Int.self),
                json: try JSONValue.parse(try row["state_json"].decode(String.self)),
                hash: try Bytes32(hex: try row["state_hash"].decode(String.self))
            )
        }
    }

    public func tokens(chainId: UInt64, contract: Address) async throws(StoreError) -> [TokenKey] {
        let rows = try await rows(
            "list the tokens of \(contract)",
            """
            SELECT DISTINCT token_id, length(token_id) AS size FROM token_state
            WHERE chain_id = \(Int64(chainId)) AND contract = \(contract.lowercased) ORDER BY size, token_id
            """
        )
        return try decoding("list the tokens of \(contract)") {
            try rows.map {
                try TokenKey(chainId: chainId, contract: contract, tokenId: $0["token_id"].decode(String.self))
            }
        }
    }

    public func foldMark(chainId: UInt64, contract: Address) async throws(StoreError) -> (
        templateHash: Bytes32, block: UInt64
    )? {
        let rows = try await rows(
            "read how far \(contract) is folded",
            """
            SELECT template_hash, block_number FROM folded_templates
            WHERE chain_id = \(Int64(chainId)) AND contract = \(contract.lowercased)
            """
        )
        guard let row = rows.first else { return nil }
        return try decoding("read how far \(contract) is folded") {
            (
                try Bytes32(hex: try row["template_hash"].decode(String.self)),
                UInt64(try row["block_number"].decode(Int64.self))
            )
        }
    }

    public func setFoldMark(chainId: UInt64, contract: Address, templateHash: Bytes32, block: UInt64)
        async throws(StoreError)
    {
        _ = try await rows(
            "record how far \(contract) is folded",
            """
            INSERT INTO folded_templates (chain_id, contract, template_hash, block_number)
            VALUES (\(Int64(chainId)), \(contract.lowercased), \(templateHash.hex), \(Int64(block)))
            ON CONFLICT (chain_id, contract) DO UPDATE SET template_hash = excluded.template_hash, block_number = excluded.block_number
            """
        )
    }

    public func recordRun(_ run: RunRecord) async throws(StoreError) {
        try await transaction("record the run's end") { [logger] connection in
            for kind in run.exitCode == 0 ? ["last", "clean"] : ["last"] {
                try await connection.query(
                    """
                    INSERT INTO runs (kind, finished, batch, published, exit_code)
                    VALUES (\(kind), \(run.finished), \(run.batch), \(run.published), \(run.exitCode))
                    ON CONFLICT (kind) DO UPDATE SET finished = excluded.finished, batch = excluded.batch,
                        published = excluded.published, exit_code = excluded.exit_code
                    """,
                    logger: logger
                )
            }
        }
    }

    public func runs() async throws(StoreError) -> RunHistory {
        let rows = try await rows("read the last runs", "SELECT kind, finished, batch, published, exit_code FROM runs")
        return try decoding("read the last runs") {
            var runs: [String: RunRecord] = [:]
            for row in rows {
                runs[try row["kind"].decode(String.self)] = RunRecord(
                    finished: try row["finished"].decode(Double.self),
                    batch: try row["batch"].decode(Int?.self),
                    published: try row["published"].decode(Int.self),
                    exitCode: try row["exit_code"].decode(Int.self)
                )
            }
            return RunHistory(last: runs["last"], lastClean: runs["clean"])
        }
    }

    public func sourceMark(_ source: String) async throws(StoreError) -> SourceMark? {
        let rows = try await rows(
            "read how far \(source) was read",
            "SELECT byte_offset, line_count, prefix_hash FROM source_marks WHERE source = \(source)"
        )
        guard let row = rows.first else { return nil }
        return try decoding("read how far \(source) was read") {
            SourceMark(
                offset: try row["byte_offset"].decode(Int64.self),
                lines: try row["line_count"].decode(Int64.self),
                prefixHash: try Bytes32(hex: try row["prefix_hash"].decode(String.self))
            )
        }
    }

    public func setSourceMark(_ source: String, _ mark: SourceMark) async throws(StoreError) {
        _ = try await rows(
            "record how far \(source) was read",
            """
            INSERT INTO source_marks (source, byte_offset, line_count, prefix_hash)
            VALUES (\(source), \(mark.offset), \(mark.lines), \(mark.prefixHash.hex))
            ON CONFLICT (source) DO UPDATE SET byte_offset = excluded.byte_offset, line_count = excluded.line_count,
                prefix_hash = excluded.prefix_hash
            """
        )
    }

    public func addPushes(batch: Int, root: String, car: String, targets: [String], now: Double)
        async throws(StoreError)
    {
        for target in targets {
            _ = try await rows(
                "record batch \(batch)'s push to \(target)",
                """
                INSERT INTO ipfs_pushes (batch, target, root, car, status, updated)
                VALUES (\(batch), \(target), \(root), \(car), 'pending', \(now))
                ON CONFLICT (batch, target) DO NOTHING
                """
            )
        }
    }

    public func pushes() async throws(StoreError) -> [IPFSPush] {
        let rows = try await rows(
            "read the pushes to IPFS providers",
            """
            SELECT batch, target, root, car, status, request_id, attempts, last_error, updated FROM ipfs_pushes
            ORDER BY batch, target
            """
        )
        return try decoding("read the pushes to IPFS providers") {
            try rows.map { row in
                IPFSPush(
                    batch: try row["batch"].decode(Int.self),
                    target: try row["target"].decode(String.self),
                    root: try row["root"].decode(String.self),
                    car: try row["car"].decode(String.self),
                    status: IPFSPush.Status(rawValue: try row["status"].decode(String.self)) ?? .pending,
                    requestId: try row["request_id"].decode(String?.self),
                    attempts: try row["attempts"].decode(Int.self),
                    lastError: try row["last_error"].decode(String?.self),
                    updated: try row["updated"].decode(Double.self)
                )
            }
        }
    }

    public func savePush(_ push: IPFSPush) async throws(StoreError) {
        _ = try await rows(
            "record the push of batch \(push.batch) to \(push.target)",
            """
            UPDATE ipfs_pushes SET status = \(push.status.rawValue), request_id = \(push.requestId),
                attempts = \(push.attempts), last_error = \(push.lastError), updated = \(push.updated)
            WHERE batch = \(push.batch) AND target = \(push.target)
            """
        )
    }

    /// Decodes rows, turning a decoding failure into a ``StoreError``.
    func decoding<T>(_ what: String, _ body: () throws -> T) throws(StoreError) -> T {
        do { return try body() } catch {
            throw Self.storeError(what, error)
        }
    }
}
