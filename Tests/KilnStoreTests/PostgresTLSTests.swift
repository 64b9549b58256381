import Foundation
import NIOCore
import NIOPosix
import KilnStore
import KilnTesting
import Testing

/// PostgreSQL as managed services run it: a server of the test's own that takes TLS connections only, with a
/// certificate authority the test makes (openssl), and the libpq URL parameters that choose how Kiln connects.
@Suite(.serialized) struct PostgresTLSTests {
    /// Certificates for one server: `ca` signs the server's (for `localhost` only, not 127.0.0.1) and the
    /// client's (`certuser`); `other` is a CA that signed nothing the server holds.
    struct Certificates {
        let folder: String
        var ca: String { folder + "/root.crt" }
        var other: String { folder + "/other.crt" }
        var clientCertificate: String { folder + "/client.crt" }
        var clientKey: String { folder + "/client.key" }

        static func make() async throws -> Certificates {
            let folder = try temporaryFolder("pg-tls").path
            func openssl(_ arguments: [String]) async throws {
                let result = try await KilnProcess.run(
                    arguments,
                    in: URL(fileURLWithPath: folder),
                    program: URL(fileURLWithPath: "/usr/bin/openssl")
                )
                guard result.status == 0 else { throw TestServerError("openssl \(arguments): \(result.stderr)") }
            }
            for (name, subject) in [("root", "Kiln test CA"), ("other", "Another CA")] {
                try await openssl([
                    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", "\(name).key", "-out", "\(name).crt", "-days", "2", "-subj", "/CN=\(subject)",
                    "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign",
                ])
            }
            for (name, subject, extensions) in [
                ("server", "localhost", "subjectAltName=DNS:localhost\nextendedKeyUsage=serverAuth\n"),
                ("client", "certuser", "extendedKeyUsage=clientAuth\n"),
            ] {
                try await openssl([
                    "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
                    "\(name).key", "-out", "\(name).csr", "-subj", "/CN=\(subject)",
                ])
                try extensions.write(toFile: "\(folder)/\(name).ext", atomically: true, encoding: .utf8)
                try await openssl([
                    "x509", "-req", "-in", "\(name).csr", "-CA", "root.crt", "-CAkey", "root.key", "-CAcreateserial",
                    "-out", "\(name).crt", "-days", "2", "-extfile", "\(name).ext",
                ])
            }
            chmod(folder + "/client.key", 0o600)
            return Certificates(folder: folder)
        }
    }

    /// A TLS-only server and its port; stopped when `body` ends.
    func withServer(_ body: (Certificates, Int) async throws -> Void) async throws {
        let certificates = try await Certificates.make()
        let server = try await PostgresTestServer.startPrivate(tls: certificates.folder)
        do {
            let port = try #require(URLComponents(string: server.url)?.port)
            _ = try await PostgresTestServer.psql(
                server.url + "?sslmode=require",
                "CREATE ROLE certuser LOGIN; GRANT ALL ON SCHEMA public TO certuser"
            )
            try await body(certificates, port)
        } catch {
            try await PostgresTestServer.stop(server.folder)
            throw error
        }
        try await PostgresTestServer.stop(server.folder)
    }

    /// Opens a store at `url` or returns the error's message.
    func open(_ url: String) async -> String? {
        do {
            _ = try await PostgresStore.open(url: url)
            return nil
        } catch {
            return error.message
        }
    }

    @Test func verifyFullConnectsWithTheRightCAAndRefusesAWrongHostOrCA() async throws {
        try await withServer { certificates, port in
            let base = "postgres://kiln@localhost:\(port)/postgres"
            // The server refuses plain TCP: a store that works below spoke TLS.
            let plain = await open(base + "?sslmode=disable")
            #expect(plain?.contains("no encryption") == true, "\(plain ?? "connected")")

            #expect(await open(base + "?sslmode=verify-full&sslrootcert=\(certificates.ca)") == nil)
            #expect(await open(base + "?sslmode=require") == nil, "require checks no certificate without a root")
            #expect(await open(base) == nil, "libpq's default, prefer, takes TLS when offered")

            // 127.0.0.1 is not a name the certificate gives: verify-full refuses, verify-ca (no host check) connects.
            let byAddress = "postgres://kiln@127.0.0.1:\(port)/postgres"
            let wrongHost = await open(byAddress + "?sslmode=verify-full&sslrootcert=\(certificates.ca)")
            #expect(wrongHost?.contains("certificate does not name 127.0.0.1") == true, "\(wrongHost ?? "connected")")
            #expect(await open(byAddress + "?sslmode=verify-ca&sslrootcert=\(certificates.ca)") == nil)

            let wrongCA = await open(base + "?sslmode=verify-full&sslrootcert=\(certificates.other)")
            #expect(
                wrongCA?.contains("does not verify against sslrootcert '\(certificates.other)'") == true,
                "\(wrongCA ?? "connected")"
            )
            let wrongCAByRequire = await open(base + "?sslmode=require&sslrootcert=\(certificates.other)")
            #expect(wrongCAByRequire != nil, "require with a root certificate checks the chain, as libpq does")
        }
    }

    @Test func aClientCertificateLogsIn() async throws {
        try await withServer { certificates, port in
            let base =
                "postgres://certuser@localhost:\(port)/postgres?sslmode=verify-full&sslrootcert=\(certificates.ca)"
            let without = await open(base)
            #expect(
                without?.contains("requires a valid client certificate") == true,
                "certuser logs in by certificate only: \(without ?? "")"
            )
            let with = base + "&sslcert=\(certificates.clientCertificate)&sslkey=\(certificates.clientKey)"
            #expect(await open(with) == nil)
            chmod(certificates.clientKey, 0o644)
            let exposed = await open(with)
            #expect(exposed?.contains("chmod 600") == true, "\(exposed ?? "connected")")
        }
    }

    @Test func parametersAreReadAsLibpqReadsThemAndUnknownOnesAreRefused() throws {
        let url = try PostgresURL(
            parsing: "postgresql://u%40x:p%2Fw@db.example.com:6543/kiln?sslmode=verify-full&sslrootcert=/ca.pem"
                + "&application_name=kiln-worker&connect_timeout=1&options=-c%20statement_timeout%3D5000"
                + "&channel_binding=prefer"
        )
        #expect(url.user == "u@x" && url.password == "p/w" && url.host == "db.example.com" && url.port == 6543)
        #expect(url.database == "kiln" && url.sslMode == .verifyFull && url.rootCertificate == "/ca.pem")
        #expect(url.applicationName == "kiln-worker" && url.connectTimeout == 2)
        #expect(url.settings == ["statement_timeout": "5000"])
        #expect(try PostgresURL(parsing: "postgres://u@h/d").sslMode == .prefer)
        #expect(try PostgresURL(parsing: "postgres://u@h/d", password: "env").password == "env")

        for (query, says) in [
            ("sslmode=bogus", "expected one of disable, prefer, require, verify-ca, verify-full"),
            ("sslmode=allow", "not supported"), ("sslcompression=1", "unknown parameter 'sslcompression'"),
            ("channel_binding=require", "channel binding is not supported"),
            ("sslcert=/c.pem", "give both sslcert and sslkey"), ("sslpassword=x", "encrypted client keys"),
            ("sslmode=disable&sslrootcert=/ca.pem", "sslmode=disable with certificates"),
            ("sslmode=require&sslmode=disable", "given twice"),
            ("options=statement_timeout", "expected -c name=value"),
        ] {
            #expect(throws: StoreError.self, "\(query)") {
                try PostgresURL(parsing: "postgres://u:secret@h/d?\(query)")
            }
            do {
                _ = try PostgresURL(parsing: "postgres://u:secret@h/d?\(query)")
            } catch {
                #expect(error.message.contains(says), "\(query): \(error.message)")
                #expect(!error.message.contains("secret"), "the password is never shown: \(error.message)")
            }
        }
        #expect(
            PostgresURL.redacted("postgres://u:secret@h/d?password=also&sslmode=require")
                == "postgres://u:***@h/d?password=***&sslmode=require"
        )
    }

    @Test func aStatementTimeoutAndPoolSizeReachTheServer() async throws {
        let url = try await PostgresTestServer.makeDatabase()
        // The server cancels a statement that runs past the timeout: the store's error says so.
        let store = try await PostgresStore.open(
            url: url,
            settings: PostgresStore.Settings(poolSize: 2, statementTimeout: .milliseconds(200))
        )
        let setting = try await store.setting("statement_timeout")
        #expect(setting == "200ms")
        let fromURL = try await PostgresStore.open(url: url + "?options=-c%20statement_timeout%3D3s")
        #expect(try await fromURL.setting("statement_timeout") == "3s")
    }
}

/// The batch lock's window: a PostgreSQL restart closes the connection that holds the coordinator's advisory lock,
/// and so the lock; a second coordinator may take it while the first runs on. A fencing token closes the window.
struct PostgresFenceTests {
    @Test func aCoordinatorWhoseLockDroppedCannotOpenOrCloseBatchesOnceAnotherTookIt() async throws {
        let url = try await PostgresTestServer.makeDatabase()
        let first = try await PostgresStore.open(url: url)
        let firstLock = try #require(try await first.tryLock())
        let (batch, _) = try await first.openBatch()
        // The lock's connection drops, as a restart drops it: its server process is ended.
        let ended = try await PostgresTestServer.psql(
            url,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_locks WHERE locktype = 'advisory' AND "
                + "((classid::bigint << 32) | objid::bigint) = 118100534886402 AND "
                // This test's database only: other tests on the same server hold their own batch locks.
                + "database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        )
        #expect(ended == "1")
        let second = try await PostgresStore.open(url: url)
        var secondLock = try await second.tryLock()
        for _ in 0..<50 where secondLock == nil {
            try await Task.sleep(for: .milliseconds(100))
            secondLock = try await second.tryLock()
        }
        #expect(secondLock != nil, "the dropped lock is free")

        // The first coordinator does not know; the store does.
        for attempt in ["close", "open"] {
            do {
                if attempt == "close" { try await first.closeBatch(batch) } else { _ = try await first.openBatch() }
                Issue.record("the fenced coordinator could \(attempt) a batch")
            } catch {
                #expect(error.code == .fenced, "\(error)")
                #expect(error.message.contains("another coordinator took it since"), "\(error.message)")
            }
        }
        #expect(try await PostgresTestServer.psql(url, "SELECT status FROM batches") == "open", "untouched")
        // The new holder goes on.
        let (same, resumed) = try await second.openBatch()
        #expect(same == batch && resumed)
        try await second.closeBatch(batch)
        withExtendedLifetime((firstLock, secondLock)) {}
    }
}

/// `kiln serve`'s check on an event loop (`countPublications(on:)`): over a connection of that loop's own, answered
/// on that loop, the count `publishedTotals()` reads; a connection that drops fails a count with a store error (not
/// a wait), counts fail at once for a moment after, and then a count connects again.
struct PostgresLoopCountTests {
    @Test func anEventLoopCountsOverItsOwnConnectionAndConnectsAgainAfterADrop() async throws {
        let url = try await PostgresTestServer.makeDatabase()
        let store = try await PostgresStore.open(url: url)
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        /// A count, and a moment by which it was asked (its connection state read).
        func asked() async -> (result: Result<Count, any Error>, by: SuspendingClock.Instant) {
            var by = SuspendingClock.now
            do {
                let counted = try await withCheckedThrowingContinuation { continuation in
                    store.countPublications(on: loop).whenComplete { result in
                        continuation.resume(with: result.map { Count(count: $0, onTheLoop: loop.inEventLoop) })
                    }
                    by = SuspendingClock.now
                }
                return (.success(counted), by)
            } catch {
                return (.failure(error), by)
            }
        }
        func count() async throws -> Count { try await asked().result.get() }
        #expect(try await count() == Count(count: 0, onTheLoop: true))
        _ = try await PostgresTestServer.psql(
            url,
            "INSERT INTO published_collections (chain_id, contract, tokens, publications, last_batch) VALUES "
                + "(1, '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed', 3, 5, 2), "
                + "(2, '0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed', 1, 2, 4)"
        )
        #expect(try await count() == Count(count: 7, onTheLoop: true))
        // The loop's connection is the only one that ran the count (the pool ran the migrations).
        let ended = try await PostgresTestServer.psql(
            url,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() "
                + "AND query = 'EXECUTE kiln_count_publications' AND pid <> pg_backend_pid()"
        )
        #expect(ended == "1")
        // The drop comes after `dropped`, so counts fail at once until at least a second after it. A count asked
        // later than that (CI's parallel suite can hold this task back so long) may connect again.
        let dropped = SuspendingClock.now
        await #expect(throws: StoreError.self, "the count on the dropped connection") { _ = try await count() }
        let after = await asked()
        if after.by - dropped < .milliseconds(1_000) {
            #expect(throws: StoreError.self, "a count right after") { _ = try after.result.get() }
        }
        try await Task.sleep(for: .milliseconds(1_100))
        #expect(try await count() == Count(count: 7, onTheLoop: true), "a new connection")
        #expect(try await store.publishedTotals().publications == 7)
    }

    struct Count: Equatable {
        let count: Int
        let onTheLoop: Bool
    }
}
