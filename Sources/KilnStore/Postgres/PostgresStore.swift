// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
internal import KilnCore
public import Logging
internal import KilnCrypto
internal import NIOCore
internal import NIOSSL
internal import PostgresNIO
internal import Synchronization

/// The PostgreSQL ``Store`` (postgres-nio, async all the way): the same tables as ``SQLiteStore`` made by its own
/// migrations, `FOR UPDATE SKIP LOCKED` leasing, the batch lock as an advisory lock, and published blocks in a
/// `blocks` table so every worker on every machine sees every block.
///
/// `postgres://user[:password]@host[:port]/database[?sslmode=…]` read as libpq reads it (``PostgresURL``; the
/// password may also come from `PGPASSWORD`). A dropped connection is made again by postgres-nio's pool, with
/// backoff, on the next call.
public final class PostgresStore: Store {
    let client: PostgresClient
    let connection: PostgresConnection.Configuration
    let logger: Logger
    let url: PostgresURL
    /// The fencing token of the batch lock this store took (``tryLock()``): the epoch it set in
    /// `coordinator_fence`. Opening and closing a batch check it is still the table's, so a coordinator whose lock
    /// silently dropped (a server restart closes the lock's connection) cannot act once another has taken it.
    let fence = Mutex<Int64?>(nil)
    /// `kiln serve`'s counting connections, one per event loop (``countPublications(on:)``).
    let loopConnections = Mutex<[ObjectIdentifier: LoopConnection]>([:])
    private let runner: Task<Void, Never>
    /// The URL without its password.
    public let location: String
    /// Blocks live in the database.
    public var sharesBlocks: Bool { true }

    /// Whether `text` names a PostgreSQL store (`postgres://` or `postgresql://`).
    public static func isURL(_ text: String) -> Bool { PostgresURL.isURL(text) }

    /// What kiln.yml sets beside the URL (`storePool`, `storeStatementTimeout`).
    public struct Settings: Sendable, Equatable {
        /// The most connections the pool opens (the batch lock takes one more of its own).
        public var poolSize: Int
        /// The server cancels a statement running longer than this (PostgreSQL's `statement_timeout`); nil leaves
        /// the server's setting (or the URL's `options=-c statement_timeout=…`).
        public var statementTimeout: Duration?
        /// Whether the pool keeps its connections open while idle (`kiln serve`, `kiln worker`: processes that
        /// run for days) rather than opening them on demand and closing them after a minute unused (commands).
        public var keepsConnections: Bool
        /// Kiln's defaults: 8 connections, the server's statement timeout, connections on demand.
        public init(poolSize: Int = 8, statementTimeout: Duration? = nil, keepsConnections: Bool = false) {
            self.poolSize = poolSize
            self.statementTimeout = statementTimeout
            self.keepsConnections = keepsConnections
        }
    }

    /// Connects to the database `url` names and creates or migrates its tables.
    /// - Parameter password: used when the URL has none (`PGPASSWORD`).
    /// - Throws: ``StoreError`` (`open`) when the URL is malformed, a certificate can't be read, or the database
    ///   can't be reached (TLS refused, a certificate that does not verify) or migrated.
    public static func open(
        url: String,
        password: String? = nil,
        settings: Settings = Settings(),
        logger: Logger = Logger(label: "kiln.store")
    ) async throws(StoreError) -> PostgresStore {
        let store = try PostgresStore(
            url: try PostgresURL(parsing: url, password: password),
            settings: settings,
            logger: logger
        )
        // One connection made directly first: the pool would retry a refused TLS handshake or login for a minute
        // and then say only that it could not connect; this says why at once.
        let probe = try await store.connect("connect to \(store.location)")
        try? await probe.close()
        try await store.migrate()
        return store
    }

    /// A connection of its own, outside the pool (the batch lock's, the first check's).
    func connect(_ what: String) async throws(StoreError) -> PostgresConnection {
        do {
            return try await PostgresConnection.connect(
                on: PostgresClient.defaultEventLoopGroup.next(),
                configuration: connection,
                id: 0,
                logger: logger
            ).get()
        } catch {
            if let reason = Self.tlsReason(error, url) {
                throw StoreError(.open, "Unable to \(what): \(reason)", cause: error)
            }
            throw Self.storeError(what, error)
        }
    }

    /// What a failed TLS handshake means, in the URL's terms; nil for any other error.
    static func tlsReason(_ error: any Error, _ url: PostgresURL) -> String? {
        var error = error
        if let wrapped = error as? PSQLError, let underlying = wrapped.underlying { error = underlying }
        let roots = url.rootCertificate.map { "sslrootcert '\($0)'" } ?? "the system's certificate authorities"
        if let failure = error as? NIOSSLExtraError, failure == .failedToValidateHostname {
            return "the server's certificate does not name \(url.host) (sslmode=verify-full checks the host name: "
                + "connect by a name the certificate gives, or use sslmode=verify-ca)"
        }
        if let failure = error as? NIOSSLError {
            let text = "\(failure)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") {
                return "the server's TLS certificate does not verify against \(roots) (signed by another "
                    + "authority, or expired); sslmode=\(url.sslMode.rawValue)"
            }
            return "the TLS handshake failed (sslmode=\(url.sslMode.rawValue)): \(text)"
        }
        return nil
    }

    private init(url: PostgresURL, settings: Settings, logger: Logger) throws(StoreError) {
        let tls = try Self.tls(url)
        var startup = url.settings.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        if let name = url.applicationName { startup.append(("application_name", name)) }
        if let timeout = settings.statementTimeout {
            startup.removeAll { $0.0 == "statement_timeout" }
            let (seconds, attoseconds) = timeout.components
            startup.append(("statement_timeout", "\(seconds * 1000 + attoseconds / 1_000_000_000_000_000)"))
        }
        let connectTimeout = Int64(url.connectTimeout ?? 10)
        var connection = PostgresConnection.Configuration(
            host: url.host,
            port: url.port,
            username: url.user,
            password: url.password,
            database: url.database,
            tls: try tls.map { configuration throws(StoreError) in
                do { return .require(try NIOSSLContext(configuration: configuration)) } catch {
                    throw StoreError(.open, "Unable to set up TLS for \(url.host): \(error)", cause: error)
                }
            } ?? .disable
        )
        if url.sslMode == .prefer, let context = connection.tls.sslContext { connection.tls = .prefer(context) }
        connection.options.connectTimeout = .seconds(connectTimeout)
        connection.options.additionalStartupParameters = startup
        self.connection = connection
        var configuration = PostgresClient.Configuration(
            host: url.host,
            port: url.port,
            username: url.user,
            password: url.password,
            database: url.database,
            tls: tls.map { url.sslMode == .prefer ? .prefer($0) : .require($0) } ?? .disable
        )
        configuration.options.maximumConnections = settings.poolSize
        if settings.keepsConnections {
            // A server keeps its connections: postgres-nio gives every connection above `minimumConnections` a
            // 60 s idle timer each time it goes back to the pool, and every idle connection a keep-alive timer —
            // each a `Task.sleep` the next lease cancels, whose memory stays until its deadline would have passed
            // (swiftlang/swift#60441). So: no idle timers (postgres-nio asks for fewer minimum connections than
            // the maximum: all but one), and keep-alive every 10 s rather than 30 (what a busy server holds is
            // about 400 bytes per store call for that long; idle, a `SELECT 1` per connection every 10 s).
            configuration.options.minimumConnections = settings.poolSize - 1
            configuration.options.keepAliveBehavior = .init(frequency: .seconds(10))
        }
        configuration.options.connectTimeout = .seconds(connectTimeout)
        configuration.options.additionalStartupParameters = startup
        // The pool's own chatter (reconnects are retried with backoff) only when it is an error.
        var background = logger
        background.logLevel = max(logger.logLevel, .error)
        let client = PostgresClient(configuration: configuration, backgroundLogger: background)
        self.client = client
        self.logger = logger
        self.url = url
        location = Self.location(url)
        runner = Task { await client.run() }
    }

    deinit {
        runner.cancel()
        for case .open(let connection) in loopConnections.withLock({ Array($0.values) }) {
            connection.whenSuccess { let _: EventLoopFuture<Void> = $0.close() }
        }
    }

    /// `postgres://user@host:port/db` and the TLS mode, for messages (never the password).
    static func location(_ url: PostgresURL) -> String {
        let host = url.host.contains(":") ? "[\(url.host)]" : url.host
        return "postgres://\(url.user)@\(host):\(url.port)/\(url.database)"
            + (url.sslMode == .prefer ? "" : "?sslmode=\(url.sslMode.rawValue)")
    }

    /// The TLS configuration `url` asks for, or nil for `sslmode=disable`.
    static func tls(_ url: PostgresURL) throws(StoreError) -> TLSConfiguration? {
        var tls = TLSConfiguration.makeClientConfiguration()
        switch url.sslMode {
        case .disable: return nil
        case .prefer: tls.certificateVerification = .none
        // libpq: with a root certificate, require checks the chain as verify-ca does.
        case .require: tls.certificateVerification = url.rootCertificate == nil ? .none : .noHostnameVerification
        case .verifyCA: tls.certificateVerification = .noHostnameVerification
        case .verifyFull: tls.certificateVerification = .fullVerification
        }
        do {
            if let path = url.rootCertificate {
                let roots = try NIOSSLCertificate.fromPEMFile(path)
                guard !roots.isEmpty else {
                    throw StoreError(.open, "sslrootcert '\(path)' holds no PEM certificate")
                }
                tls.trustRoots = .certificates(roots)
            }
            if let certificate = url.clientCertificate, let key = url.clientKey {
                tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certificate).map { .certificate($0) }
                var bytes = try SecretFile.read(key, what: "the client key (sslkey)", maxBytes: 64 * 1024)
                defer { bytes.withUnsafeMutableBytes { explicitZero($0) } }
                tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: bytes, format: .pem))
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.open, "Unable to read the TLS files of \(location(url)): \(error)", cause: error)
        }
        return tls
    }

    // MARK: - Running queries

    /// The longest one call may take. A query in flight when the server restarts can be left waiting for an
    /// answer that never comes (seen once in the restart test under CI load: a worker held its leases for good);
    /// past this it fails as a database error, which the pipeline waits out and retries like any other. Generous,
    /// since a loaded machine (every test suite at once on 2 cores) makes honest calls take over a minute.
    static let callTimeout = Duration.seconds(300)

    /// Runs `body` in one transaction on a pooled connection, within ``callTimeout``.
    func transaction<T: Sendable>(_ what: String, _ body: @escaping @Sendable (PostgresConnection) async throws -> T)
        async throws(StoreError) -> T
    {
        let (client, logger) = (self.client, self.logger)
        return try await withDeadline(Self.callTimeout, expired: { Self.expired(what) }) {
            () async throws(StoreError) -> T in
            do {
                return try await client.withTransaction(logger: logger) { connection in try await body(connection) }
            } catch {
                throw Self.storeError(what, error)
            }
        }
    }

    /// Runs one statement and collects its rows, within ``callTimeout``.
    func rows(_ what: String, _ query: PostgresQuery) async throws(StoreError) -> [PostgresRandomAccessRow] {
        let (client, logger) = (self.client, self.logger)
        let rows = try await withDeadline(Self.callTimeout, expired: { Self.expired(what) }) {
            () async throws(StoreError) -> RowBox in
            do {
                return RowBox(rows: try await Self.collect(try await client.query(query, logger: logger)))
            } catch {
                throw Self.storeError(what, error)
            }
        }
        return rows.rows
    }

    static func expired(_ what: String) -> StoreError {
        StoreError(.database, "Unable to \(what): the database did not answer within \(callTimeout)")
    }

    static func collect(_ sequence: PostgresRowSequence) async throws -> [PostgresRandomAccessRow] {
        var rows: [PostgresRandomAccessRow] = []
        for try await row in sequence { rows.append(row.makeRandomAccess()) }
        return rows
    }

    /// A ``StoreError`` that says what the server said (postgres-nio's own description hides it on purpose).
    static func storeError(_ what: String, _ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        // Kiln's own refusal from inside a transaction (a store from a newer kiln) keeps its code.
        if let error = error as? PostgresTransactionError, let inner = error.closureError as? StoreError {
            return inner
        }
        return StoreError(.database, "Unable to \(what): \(reason(error))", cause: error)
    }

    static func reason(_ error: any Error) -> String {
        if let error = error as? PostgresTransactionError {
            if let inner = error.closureError ?? error.beginError ?? error.commitError { return reason(inner) }
        }
        if String(describing: type(of: error)) == "ConnectionPoolError" {
            // postgres-nio's pool gives up on waiting requests once connecting has failed for a minute.
            return "the database cannot be reached (no connection could be made for a minute: is the server up, "
                + "and the URL's host, port, user and database right?)"
        }
        if let error = error as? PSQLError {
            if let info = error.serverInfo, let message = info[.message] {
                return message + (info[.sqlState].map { " (SQLSTATE \($0))" } ?? "")
            }
            if let underlying = error.underlying { return "\(underlying)" }
            return "\(error.code)"
        }
        return "\(error)"
    }

    // MARK: - Schema

    /// The schema, one migration per entry, applied in order under an advisory lock so that several workers
    /// starting at once migrate once.
    static let migrations: [String] = [
        """
        CREATE TABLE chain_cursor (
            chain_id BIGINT PRIMARY KEY, block_number BIGINT NOT NULL, block_hash TEXT NOT NULL);
        CREATE TABLE events (
            id BIGSERIAL PRIMARY KEY, chain_id BIGINT NOT NULL, contract TEXT NOT NULL, block_number BIGINT NOT NULL,
            block_hash TEXT NOT NULL, transaction_hash TEXT, log_index BIGINT NOT NULL, topics TEXT NOT NULL,
            data BYTEA NOT NULL, removed BOOLEAN NOT NULL DEFAULT false, UNIQUE (chain_id, block_hash, log_index));
        CREATE INDEX events_by_contract ON events (chain_id, contract, block_number, log_index);
        CREATE TABLE token_state (
            id BIGSERIAL PRIMARY KEY, chain_id BIGINT NOT NULL, contract TEXT NOT NULL, token_id TEXT NOT NULL,
            version INTEGER NOT NULL, state_json TEXT NOT NULL, state_hash TEXT NOT NULL,
            UNIQUE (chain_id, contract, token_id, version));
        CREATE TABLE jobs (
            id BIGSERIAL PRIMARY KEY, chain_id BIGINT NOT NULL, contract TEXT NOT NULL, token_id TEXT NOT NULL,
            state_version INTEGER NOT NULL, state_hash TEXT NOT NULL, template_hash TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('queued', 'leased', 'done', 'failed', 'no_quorum')),
            attempts INTEGER NOT NULL DEFAULT 0, lease_owner TEXT, lease_until DOUBLE PRECISION, last_error TEXT,
            reference_block BIGINT NOT NULL DEFAULT 0, leased_batch INTEGER,
            UNIQUE (chain_id, contract, token_id, state_hash, template_hash));
        CREATE INDEX jobs_by_status ON jobs (status, id);
        CREATE INDEX jobs_by_token ON jobs (chain_id, contract, token_id, id);
        CREATE TABLE folded_templates (
            chain_id BIGINT NOT NULL, contract TEXT NOT NULL, template_hash TEXT NOT NULL,
            block_number BIGINT NOT NULL, PRIMARY KEY (chain_id, contract));
        CREATE TABLE batches (number INTEGER PRIMARY KEY, status TEXT NOT NULL CHECK (status IN ('open', 'closed')));
        CREATE TABLE publications (
            id BIGSERIAL PRIMARY KEY, job_id BIGINT NOT NULL REFERENCES jobs, batch INTEGER NOT NULL REFERENCES batches,
            chain_id BIGINT NOT NULL, contract TEXT NOT NULL, token_id TEXT NOT NULL, state_hash TEXT NOT NULL,
            template_hash TEXT NOT NULL, directory TEXT NOT NULL, metadata TEXT NOT NULL, image TEXT NOT NULL,
            thumbnail TEXT NOT NULL, inference TEXT, attestation TEXT, template TEXT NOT NULL);
        CREATE INDEX publications_by_token ON publications (chain_id, contract, token_id, id);
        CREATE INDEX publications_by_batch ON publications (batch, id);
        CREATE TABLE blocks (cid TEXT PRIMARY KEY, bytes BYTEA NOT NULL);
        CREATE TABLE workers (
            name TEXT PRIMARY KEY, host TEXT NOT NULL, started DOUBLE PRECISION NOT NULL,
            seen DOUBLE PRECISION NOT NULL, state TEXT NOT NULL, jobs INTEGER NOT NULL);
        """,
        """
        CREATE INDEX jobs_runnable ON jobs (id) WHERE status IN ('queued', 'no_quorum');
        CREATE INDEX jobs_leased ON jobs (lease_until) WHERE status = 'leased';
        """,
        """
        CREATE TABLE source_marks (
            source TEXT PRIMARY KEY, byte_offset BIGINT NOT NULL, line_count BIGINT NOT NULL, prefix_hash TEXT NOT NULL);
        """,
        """
        CREATE TABLE ipfs_pushes (
            batch INTEGER NOT NULL, target TEXT NOT NULL, root TEXT NOT NULL, car TEXT NOT NULL, status TEXT NOT NULL,
            request_id TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
            updated DOUBLE PRECISION NOT NULL, PRIMARY KEY (batch, target));
        """,
        """
        CREATE TABLE coordinator_fence (id INTEGER PRIMARY KEY CHECK (id = 1), epoch BIGINT NOT NULL);
        CREATE TABLE runs (
            kind TEXT PRIMARY KEY, finished DOUBLE PRECISION NOT NULL, batch INTEGER, published INTEGER NOT NULL,
            exit_code INTEGER NOT NULL);
        """,
        publishedTokensMigration,
        (1...3).map {
            "CREATE INDEX events_by_topic\($0) ON events (substr(topics, \(topicStart($0)), 66), chain_id, contract);"
        }.joined(separator: "\n"),
        "CREATE TABLE output_marks (name TEXT PRIMARY KEY, publication BIGINT NOT NULL, stamp TEXT NOT NULL);",
    ]

    /// The advisory-lock keys: migrations, and the batch lock (one coordinator at a time).
    static let migrationLockKey: Int64 = 0x6b69_6c6e_0001
    static let batchLockKey: Int64 = 0x6b69_6c6e_0002  // 118100534886402; pg_locks: classid 0x6b69, objid 0x6c6e0002

    func migrate() async throws(StoreError) {
        try await transaction("migrate the schema of \(location)") { [logger, location] connection in
            try await connection.query("SELECT pg_advisory_xact_lock(\(Self.migrationLockKey))", logger: logger)
            try await connection.query(
                "CREATE TABLE IF NOT EXISTS kiln_schema (version INTEGER PRIMARY KEY)",
                logger: logger
            )
            let rows = try await Self.collect(
                try await connection.query("SELECT coalesce(max(version), 0) FROM kiln_schema", logger: logger)
            )
            let current = try rows.first?[0].decode(Int.self) ?? 0
            guard current <= Self.migrations.count else {
                throw StoreError(
                    .open,
                    "The database \(location) has schema version \(current), newer than this kiln knows (\(Self.migrations.count)): upgrade kiln"
                )
            }
            for (index, sql) in Self.migrations.enumerated().dropFirst(current) {
                for statement in sql.split(separator: ";") where !statement.allSatisfy(\.isWhitespace) {
                    try await connection.query(PostgresQuery(unsafeSQL: String(statement)), logger: logger)
                }
                try await connection.query("INSERT INTO kiln_schema (version) VALUES (\(index + 1))", logger: logger)
            }
        }
    }

    // MARK: - The batch lock

    /// A session advisory lock on a connection of its own, held until the lock is dropped (or the process ends:
    /// PostgreSQL releases it with the connection).
    public func tryLock() async throws(StoreError) -> StoreLock? {
        let connection = try await connect("connect to \(location) for the batch lock")
        do {
            let rows = try await Self.collect(
                try await connection.query("SELECT pg_try_advisory_lock(\(Self.batchLockKey))", logger: logger)
            )
            guard try rows.first?[0].decode(Bool.self) == true else {
                try? await connection.close()
                return nil
            }
            // The next epoch is this holder's fencing token, taken while the lock is held.
            let epoch = try await Self.collect(
                try await connection.query(
                    """
                    INSERT INTO coordinator_fence (id, epoch) VALUES (1, 1)
                    ON CONFLICT (id) DO UPDATE SET epoch = coordinator_fence.epoch + 1 RETURNING epoch
                    """,
                    logger: logger
                )
            )
            let token = try epoch[0][0].decode(Int64.self)
            fence.withLock { $0 = token }
        } catch {
            try? await connection.close()
            throw Self.storeError("take the batch lock of \(location)", error)
        }
        return StoreLock(description: "the advisory lock of \(location)") {
            // The callback keeps the connection alive until it has closed (postgres-nio asserts on that).
            connection.close().whenComplete { _ in withExtendedLifetime(connection) {} }
        }
    }
}

/// Rows handed out of a deadline's task: postgres-nio's random-access rows are immutable values read after the
/// query ended, but not declared `Sendable`.
struct RowBox: @unchecked Sendable {
    let rows: [PostgresRandomAccessRow]
}

extension PostgresStore {
    /// Inside a transaction that opens or closes a batch: when this store holds the batch lock, the fence must
    /// still carry its token (`FOR SHARE`: a coordinator taking the lock meanwhile waits for this transaction).
    /// - Throws: ``StoreError/Code/fenced`` when another coordinator has taken the lock since.
    static func checkFence(_ token: Int64?, _ what: String, on connection: PostgresConnection, logger: Logger)
        async throws
    {
        guard let token else { return }
        let rows = try await collect(
            try await connection.query("SELECT epoch FROM coordinator_fence WHERE id = 1 FOR SHARE", logger: logger)
        )
        let current = try rows.first?[0].decode(Int64.self)
        guard current == token else {
            throw StoreError(
                .fenced,
                "Unable to \(what): this coordinator's batch lock (epoch \(token)) was lost — its connection dropped, "
                    + "as a server restart does — and another coordinator took it since (epoch \(current ?? 0)); "
                    + "this run stops and that one finishes the batch"
            )
        }
    }

    /// The value of one server setting as this store's connections see it (`current_setting`), e.g.
    /// `statement_timeout`.
    public func setting(_ name: String) async throws(StoreError) -> String {
        let rows = try await rows("read the setting \(name)", "SELECT current_setting(\(name))")
        guard let row = rows.first, let value = try? row[0].decode(String.self) else {
            throw StoreError(.database, "Unable to read the setting \(name): no value")
        }
        return value
    }
}
