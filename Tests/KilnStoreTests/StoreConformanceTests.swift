import BigInt
import Foundation
import Synchronization
import KilnCore
import KilnStore
import KilnTesting
import Testing

/// The two stores every test here runs against: SQLite in a temporary folder, and a fresh database on the real
/// PostgreSQL server `.ci/run` starts.
enum StoreKind: String, CaseIterable, Sendable {
    case sqlite, postgres

    /// A new, empty store, and a way to open another connection to it (as a second process would).
    func make() async throws -> (store: any Store, another: @Sendable () async throws -> any Store) {
        switch self {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "kiln-store-\(UUID().uuidString)"
            )
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let path = folder.appendingPathComponent("kiln.sqlite").path
            return (try SQLiteStore(path: path), { try SQLiteStore(path: path) })
        case .postgres:
            let url = try await PostgresTestServer.makeDatabase()
            return (try await PostgresStore.open(url: url), { try await PostgresStore.open(url: url) })
        }
    }
}

let contract = try! Address(hex: "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")

func log(block: UInt64, index: UInt64, topic: UInt64, hash: UInt64? = nil) -> EventLog {
    EventLog(
        address: contract,
        topics: [Bytes32(word: topic)],
        data: [UInt8(block), UInt8(index)],
        blockNumber: block,
        blockHash: Bytes32(word: hash ?? block * 1000),
        transactionHash: Bytes32(word: block * 7 + index),
        logIndex: index
    )
}

/// One suite, two stores: the same behaviour is asserted of SQLite and PostgreSQL.
struct StoreConformanceTests {
    @Test(arguments: StoreKind.allCases) func recordsLogsOnceAndMovesTheCursor(kind: StoreKind) async throws {
        let store = try await kind.make().store
        #expect(try await store.cursor(chainId: 1) == nil)
        let logs = [
            log(block: 2, index: 1, topic: 9), log(block: 1, index: 0, topic: 8), log(block: 2, index: 0, topic: 7),
        ]
        try await store.record(logs, chainId: 1, cursor: (2, Bytes32(word: 2000)))
        try await store.record(logs, chainId: 1, cursor: (2, Bytes32(word: 2000)))  // again: nothing doubles
        #expect(try await store.cursor(chainId: 1)?.block == 2)
        let read = try await store.logs(chainId: 1, contract: contract)
        #expect(read.map(\.topics[0]) == [Bytes32(word: 8), Bytes32(word: 7), Bytes32(word: 9)], "chain order")
        #expect(read[0] == logs[1])
        #expect(try await store.logs(chainId: 2, contract: contract).isEmpty, "chains are separate")
    }

    /// A token's logs by the topic that names it, and the logs after a block: index lookups, in chain order.
    @Test(arguments: StoreKind.allCases) func readsATokensLogsAndTheLogsAfterABlock(kind: StoreKind) async throws {
        let store = try await kind.make().store
        let seven = Bytes32(word: 7), eight = Bytes32(word: 8)
        func event(_ block: UInt64, _ index: UInt64, _ topics: [Bytes32], removed: Bool = false) -> EventLog {
            var log = EventLog(
                address: contract,
                topics: topics,
                data: [],
                blockNumber: block,
                blockHash: Bytes32(word: block * 1000),
                transactionHash: Bytes32(word: block),
                logIndex: index
            )
            log.removed = removed
            return log
        }
        let transfer = Bytes32(word: 0xaa), levelUp = Bytes32(word: 0xbb)
        let logs = [
            event(1, 0, [transfer, .zero, eight, seven]),  // token 7 at topic 3
            event(1, 1, [levelUp, eight]),  // token 8 at topic 1
            event(2, 0, [levelUp, seven]),  // token 7 at topic 1
            event(3, 0, [transfer, seven, eight, eight]),  // 7 at topic 1 in another role; token 8
            event(3, 1, [levelUp]),
        ]
        try await store.record(logs, chainId: 1, cursor: (3, Bytes32(word: 3000)))
        let named = try await store.logs(chainId: 1, contract: contract, naming: seven, at: [1, 3])
        #expect(named.map(\.blockNumber) == [1, 2, 3] && named.map(\.logIndex) == [0, 0, 0], "chain order, once each")
        #expect(try await store.logs(chainId: 1, contract: contract, naming: seven, at: [3]).count == 1)
        #expect(try await store.logs(chainId: 2, contract: contract, naming: seven, at: [1, 3]).isEmpty)
        #expect(try await store.logs(chainId: 1, contract: contract, after: 1).map(\.blockNumber) == [2, 3, 3])
        #expect(try await store.logs(chainId: 1, contract: contract, after: nil).count == 5)
        try await store.rewind(chainId: 1, to: 2, hash: Bytes32(word: 2000))
        #expect(
            try await store.logs(chainId: 1, contract: contract, naming: eight, at: [1, 2, 3]).map(\.logIndex) == [
                0, 1,
            ],
            "block 1's two logs name 8 (topics 2 and 1); block 3's, removed, are not read"
        )
    }

    @Test(arguments: StoreKind.allCases) func keepsHowFarASourceWasRead(kind: StoreKind) async throws {
        let store = try await kind.make().store
        #expect(try await store.sourceMark("file:/srv/events.jsonl") == nil)
        let first = SourceMark(offset: 4096, lines: 12, prefixHash: Bytes32(word: 7))
        try await store.setSourceMark("file:/srv/events.jsonl", first)
        #expect(try await store.sourceMark("file:/srv/events.jsonl") == first)
        let later = SourceMark(offset: 9000, lines: 30, prefixHash: Bytes32(word: 8))
        try await store.setSourceMark("file:/srv/events.jsonl", later)  // replaced, not added
        #expect(try await store.sourceMark("file:/srv/events.jsonl") == later)
        #expect(try await store.sourceMark("file:/srv/other.jsonl") == nil)
    }

    /// A store a newer kiln migrated is refused with a clear error, and nothing in it is changed.
    @Test(arguments: StoreKind.allCases) func aStoreFromANewerKilnIsLeftAlone(kind: StoreKind) async throws {
        let (store, reopen) = try await kind.make()
        switch kind {
        case .sqlite:
            let insert =
                "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); "
                + "c.execute(\"INSERT INTO grdb_migrations VALUES ('v99: from a newer kiln')\"); c.commit()"
            let result = try await KilnProcess.run(["-I", "-c", insert, store.location], program: PythonBench.python)
            #expect(result.status == 0, "\(result.stderr)")
        case .postgres:
            _ = try await PostgresTestServer.psql(store.location, "INSERT INTO kiln_schema (version) VALUES (99)")
        }
        do {
            _ = try await reopen()
            Issue.record("a store from a newer kiln was opened")
        } catch let error as StoreError {
            #expect(error.code == .open)
            #expect(error.message.contains("newer") && error.message.contains("upgrade kiln"), "\(error.message)")
        }
    }

    /// Several processes opening one new file at the same instant (two `kiln batch` runs started together): each
    /// opens it, none meets "database is locked" while switching the file to WAL or migrating it (before the fix, one
    /// round in about ten lost an opener here).
    @Test func manyOpenersOfANewFileAllGetIn() async throws {
        for round in 0..<50 {
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
                "kiln-store-open-\(round)-\(UUID().uuidString)"
            )
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: folder) }
            let path = folder.appendingPathComponent("kiln.sqlite").path
            // Threads of their own, released together, not tasks of the cooperative pool (opening blocks).
            let openers = 8
            let start = DispatchSemaphore(value: 0)
            let group = DispatchGroup()
            let failures = Mutex<[String]>([])
            for _ in 0..<openers {
                group.enter()
                Thread.detachNewThread {
                    start.wait()
                    do {
                        let store = try SQLiteStore(path: path)
                        _ = store.location
                    } catch {
                        failures.withLock { $0.append("\(error)") }
                    }
                    group.leave()
                }
            }
            for _ in 0..<openers { start.signal() }
            group.wait()
            #expect(failures.withLock { $0 } == [], "round \(round)")
        }
    }

    /// Another process holding a write transaction past the busy timeout: a clear error, nothing written, and the
    /// store works again once it is gone (it holds the transaction until the test ends it: no race with the clock).
    @Test func aBusySQLiteStoreSaysSo() async throws {
        let (store, _) = try await StoreKind.sqlite.make()
        let mark = SourceMark(offset: 1, lines: 1, prefixHash: Bytes32(word: 1))
        let hold = """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=1)
            c.execute("BEGIN IMMEDIATE")
            print("locked", flush=True)
            time.sleep(float(sys.argv[2]))
            c.execute("COMMIT")
            """
        let holder = try await ServiceProcess.start(
            PythonBench.python,
            ["-I", "-c", hold, store.location, "3600"],
            name: "a process holding the store",
            accept: { $0 == "locked" }
        )
        defer { holder.stop() }
        do {
            try await store.setSourceMark("file:/srv/events.jsonl", mark)
            Issue.record("a write went through another process's write transaction")
        } catch {
            #expect(error.message.contains("is busy: another process has held a write transaction"), "\(error.message)")
        }
        holder.stop()  // it held the transaction until now, however slow the machine; its end rolls it back
        try await store.setSourceMark("file:/srv/events.jsonl", mark)
        #expect(try await store.sourceMark("file:/srv/events.jsonl") == mark)
    }

    @Test(arguments: StoreKind.allCases) func keepsEachPushToAnIPFSProvider(kind: StoreKind) async throws {
        let store = try await kind.make().store
        #expect(try await store.pushes().isEmpty)
        try await store.addPushes(
            batch: 2,
            root: "bafyroot2",
            car: "out/batch-2.car",
            targets: ["kubo A", "pinning B"],
            now: 10
        )
        try await store.addPushes(batch: 1, root: "bafyroot1", car: "out/batch-1.car", targets: ["kubo A"], now: 11)
        var pushes = try await store.pushes()
        #expect(
            pushes.map { "\($0.batch) \($0.target)" } == ["1 kubo A", "2 kubo A", "2 pinning B"],
            "by batch, then target"
        )
        #expect(pushes.allSatisfy { $0.status == .pending && $0.attempts == 0 && $0.requestId == nil })
        var pin = pushes[2]
        pin.status = .queued
        pin.requestId = "req-1"
        pin.attempts = 1
        pin.lastError = "still queued"
        pin.updated = 20
        try await store.savePush(pin)
        // Recording again keeps what is stored.
        try await store.addPushes(batch: 2, root: "bafyroot2", car: "out/batch-2.car", targets: ["pinning B"], now: 30)
        pushes = try await store.pushes()
        #expect(pushes.count == 3)
        #expect(pushes[2] == pin)
        #expect(pushes[0].root == "bafyroot1" && pushes[0].car == "out/batch-1.car" && pushes[0].updated == 11)
    }

    @Test(arguments: StoreKind.allCases) func rewindMarksLaterLogsRemoved(kind: StoreKind) async throws {
        let store = try await kind.make().store
        try await store.record(
            [log(block: 1, index: 0, topic: 1), log(block: 2, index: 0, topic: 2), log(block: 3, index: 0, topic: 3)],
            chainId: 1,
            cursor: (3, Bytes32(word: 3000))
        )
        try await store.rewind(chainId: 1, to: 1, hash: Bytes32(word: 1000))
        #expect(try await store.logs(chainId: 1, contract: contract).map(\.blockNumber) == [1])
        #expect(try await store.cursor(chainId: 1)?.block == 1)
        // The new branch's block 2 has another hash: recorded as a new log.
        try await store.record(
            [log(block: 2, index: 0, topic: 22, hash: 2222)],
            chainId: 1,
            cursor: (2, Bytes32(word: 2222))
        )
        await #expect(
            try store.logs(chainId: 1, contract: contract).map(\.topics[0]) == [Bytes32(word: 1), Bytes32(word: 22)]
        )
    }

    @Test(arguments: StoreKind.allCases) func aLogWithoutPositionIsRefusedAndNothingIsWritten(kind: StoreKind)
        async throws
    {
        let store = try await kind.make().store
        var pending = log(block: 5, index: 0, topic: 5)
        pending.blockHash = nil
        await #expect {
            try await store.record([log(block: 4, index: 0, topic: 4), pending], chainId: 1, cursor: (5, .zero))
        } throws: {
            ($0 as! StoreError).message.contains("without block number, block hash and log index")
        }
        #expect(try await store.logs(chainId: 1, contract: contract).isEmpty, "the transaction rolled back")
        #expect(try await store.cursor(chainId: 1) == nil)
    }
}

struct JobStoreTests {
    let token = TokenKey(
        chainId: 1,
        contract: contract,
        id: BigUInt(2).power(256) - 1
    )

    @Test(arguments: StoreKind.allCases) func stateVersionsChangeOnlyWithTheHash(kind: StoreKind) async throws {
        let store = try await kind.make().store
        #expect(try await store.saveState(token, json: ["level": 1], hash: Bytes32(word: 1)) == (1, true))
        #expect(try await store.saveState(token, json: ["level": 1], hash: Bytes32(word: 1)) == (1, false))
        #expect(try await store.saveState(token, json: ["level": 2], hash: Bytes32(word: 2)) == (2, true))
    }

    @Test(arguments: StoreKind.allCases) func oneJobPerTokenStateAndTemplate(kind: StoreKind) async throws {
        let store = try await kind.make().store
        let first = try await store.enqueue(
            token,
            stateVersion: 1,
            stateHash: Bytes32(word: 1),
            templateHash: Bytes32(word: 9)
        )
        #expect(first.created && first.job.status == .queued && first.job.token == token)
        await #expect(
            try !store.enqueue(token, stateVersion: 1, stateHash: Bytes32(word: 1), templateHash: Bytes32(word: 9))
                .created
        )
        await #expect(
            try store.enqueue(token, stateVersion: 1, stateHash: Bytes32(word: 1), templateHash: Bytes32(word: 10))
                .created,
            "a new template version is a new job"
        )
    }

    @Test(arguments: StoreKind.allCases) func leasesExpireAndOnlyTheOwnerFinishes(kind: StoreKind) async throws {
        let store = try await kind.make().store
        let job = try await store.enqueue(
            token,
            stateVersion: 1,
            stateHash: Bytes32(word: 1),
            templateHash: Bytes32(word: 9)
        )
        .job
        #expect(try await store.lease(owner: "a", limit: 10, seconds: 60, now: 1000).map(\.id) == [job.id])
        #expect(try await store.lease(owner: "b", limit: 10, seconds: 60, now: 1030).isEmpty, "still leased to a")
        await #expect { try await store.finish(jobId: job.id, owner: "b", status: .done, error: nil) } throws: {
            ($0 as! StoreError).message
                == "Unable to finish job \(job.id): it is not leased to 'b' (the lease expired?)"
        }
        // a crashed: after the lease, b takes the job over.
        let taken = try await store.lease(owner: "b", limit: 10, seconds: 60, now: 1061)
        #expect(taken.map(\.id) == [job.id] && taken[0].attempts == 2)
        await #expect(throws: StoreError.self) {
            try await store.finish(jobId: job.id, owner: "a", status: .done, error: nil)
        }
        // No quorum: back in the queue with the reason, and leased again by the next run.
        try await store.finish(jobId: job.id, owner: "b", status: .noQuorum, error: "operators holding 40 % signed")
        #expect(try await store.jobCounts() == [.noQuorum: 1])
        let retry = try await store.lease(owner: "c", limit: 10, seconds: 60, now: 1100)
        #expect(retry.first?.lastError == "operators holding 40 % signed")
        try await store.finish(jobId: job.id, owner: "c", status: .done, error: nil)
        #expect(try await store.jobCounts() == [.done: 1])
        #expect(
            try await store.lease(owner: "d", limit: 10, seconds: 60, now: 9999).isEmpty,
            "done jobs are never leased"
        )
    }

    /// A lease takes the lowest ids among expired leases, queued jobs and jobs without quorum together (each status
    /// is its own index search; the union is ordered and cut to the limit), and `only` narrows every one of them.
    @Test(arguments: StoreKind.allCases) func aLeaseTakesTheLowestIdsOfEveryStatus(kind: StoreKind) async throws {
        let store = try await kind.make().store
        var ids: [Int64] = []
        for index in 0..<6 {
            ids.append(
                try await store.enqueue(
                    TokenKey(chainId: 1, contract: contract, tokenId: String(index)),
                    stateVersion: 1,
                    stateHash: Bytes32(word: UInt64(index + 1)),
                    templateHash: .zero
                )
                .job.id
            )
        }
        #expect(try await store.lease(owner: "a", limit: 3, seconds: 100, now: 0).map(\.id) == Array(ids[0..<3]))
        try await store.finish(jobId: ids[1], owner: "a", status: .noQuorum, error: "40 %")
        try await store.finish(jobId: ids[2], owner: "a", status: .done, error: nil)
        // 0: leased to a until 100; 1: no quorum; 2: done; 3, 4, 5: queued.
        #expect(
            try await store.lease(owner: "b", limit: 3, seconds: 100, now: 150).map(\.id) == [ids[0], ids[1], ids[3]],
            "an expired lease, a job without quorum and a queued one, by id"
        )
        // 0 and 1 are b's until 250; of 5, 0 and 2 only 5 is runnable.
        let narrowed = try await store.lease(
            owner: "c",
            limit: 3,
            seconds: 100,
            now: 200,
            batch: nil,
            only: [ids[5], ids[0], ids[2]]
        )
        #expect(narrowed.map(\.id) == [ids[5]])
        #expect(try await store.lease(owner: "d", limit: 1, seconds: 100, now: 300).map(\.id) == [ids[0]])
    }

    /// SQLite leases by one index search per status, in id order, stopping at the limit — not by reading every
    /// runnable job and sorting them (one condition with an OR: a lease at the start of a 10 000-job batch read and
    /// sorted 10 000 rows).
    @Test func sqliteLeasesWithoutSortingEveryRunnableJob() async throws {
        let store = try #require(try await StoreKind.sqlite.make().store as? SQLiteStore)
        let lease = try #require(try await store.queryPlans().first { $0.name == "leaseJobs" })
        let text = lease.plan.joined(separator: "\n")
        #expect(!text.contains("MULTI-INDEX OR"), "\(text)")
        #expect(
            lease.plan.filter { $0.hasPrefix("SEARCH jobs USING INDEX jobs_by_status (status=?)") }.count == 3,
            "\(text)"
        )
    }

    @Test(arguments: StoreKind.allCases) func twoWorkersOnOneFileNeverShareAJob(kind: StoreKind) async throws {
        let (setup, another) = try await kind.make()
        for index in 0..<200 {
            _ = try await setup.enqueue(
                TokenKey(chainId: 1, contract: contract, tokenId: String(index)),
                stateVersion: 1,
                stateHash: Bytes32(word: UInt64(index)),
                templateHash: .zero
            )
        }
        // Two stores are two connections to one file, as two `kiln batch` processes would be.
        let stores = [try await another(), try await another()]
        let leased = try await withThrowingTaskGroup(of: [Int64].self) { group in
            for worker in 0..<8 {
                let store = stores[worker % 2]
                group.addTask {
                    var mine: [Int64] = []
                    while true {
                        let jobs = try await store.lease(owner: "w\(worker)", limit: 3, seconds: 600, now: 1)
                        if jobs.isEmpty { return mine }
                        for job in jobs {
                            mine.append(job.id)
                            try await store.finish(jobId: job.id, owner: "w\(worker)", status: .done, error: nil)
                        }
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(leased.count == 200, "every job once")
        #expect(Set(leased).count == 200, "no job twice")
        #expect(try await setup.jobCounts() == [.done: 200])
    }
}

struct BatchStoreTests {
    let token = TokenKey(chainId: 1, contract: contract, id: 7)

    func publication(_ job: Job, batch: Int) -> Publication {
        Publication(
            jobId: job.id,
            batch: batch,
            token: job.token,
            stateHash: job.stateHash,
            templateHash: job.templateHash,
            directory: "bafydir",
            metadata: "bafymeta",
            image: "bafyimage",
            thumbnail: "bafythumb",
            inference: nil,
            attestation: nil,
            template: "bafytemplate"
        )
    }

    @Test(arguments: StoreKind.allCases) func aBatchTriesEachJobOnceAndDrains(kind: StoreKind) async throws {
        let (store, _) = try await kind.make()
        let job = try await store.enqueue(token, stateVersion: 1, stateHash: Bytes32(word: 1), templateHash: .zero).job
        #expect(
            try await store.lease(owner: "w", limit: 5, seconds: 60, now: 1, batch: 1, only: nil).isEmpty,
            "no batch is open"
        )
        let (batch, resumed) = try await store.openBatch()
        #expect(batch == 1 && !resumed)
        #expect(try await store.pendingJobs(batch: batch) == 1)
        let leased = try await store.lease(owner: "w", limit: 5, seconds: 60, now: 1, batch: batch, only: nil)
        #expect(leased.map(\.id) == [job.id] && leased[0].batch == batch)
        #expect(try await store.pendingJobs(batch: batch) == 1, "a leased job is pending")
        try await store.finish(jobId: job.id, owner: "w", status: .noQuorum, error: "40 %")
        #expect(try await store.pendingJobs(batch: batch) == 0, "tried in this batch: the batch is drained")
        #expect(
            try await store.lease(owner: "v", limit: 5, seconds: 60, now: 2, batch: batch, only: nil).isEmpty,
            "a job without quorum waits for the next batch"
        )
        try await store.closeBatch(batch)
        #expect(try await store.currentBatch() == nil, "a batch that published nothing is dropped")
        let next = try await store.openBatch().number
        #expect(next == 1, "its number is used again")
        let again = try await store.lease(owner: "v", limit: 5, seconds: 60, now: 3, batch: next + 1, only: nil)
        #expect(again.isEmpty, "batch 2 is not open")
        try await store.closeBatch(next)
        let third = try await store.openBatch().number
        let retried = try await store.lease(owner: "v", limit: 5, seconds: 60, now: 3, batch: third, only: [job.id])
        #expect(try #require(retried.first).id == job.id, "a dropped batch's number is used again, its jobs untried")
        #expect(retried.count == 1 && retried[0].attempts == 2)
        try await store.complete(
            publication(retried[0], batch: third),
            owner: "v",
            blocks: [StoredBlock(cid: "bafyexample", bytes: [1, 2, 3])]
        )
        try await store.closeBatch(third)
        #expect(try await store.publications(batch: third).map(\.jobId) == [job.id])
        #expect(try await store.jobCounts() == [.done: 1])
        // Blocks live in the store only where it shares them.
        let kept = try await store.blocks(["bafyexample"])
        #expect(kept == (store.sharesBlocks ? [StoredBlock(cid: "bafyexample", bytes: [1, 2, 3])] : []))
        #expect(try await store.blockCIDs() == (store.sharesBlocks ? ["bafyexample"] : []))
        #expect(store.sharesBlocks == (kind == .postgres))
    }

    @Test(arguments: StoreKind.allCases) func aTokensHistoryIsItsOwnPublicationsOldestFirst(kind: StoreKind)
        async throws
    {
        let (store, _) = try await kind.make()
        let other = TokenKey(chainId: 1, contract: contract, id: 8)
        let elsewhere = TokenKey(chainId: 2, contract: contract, id: 7)
        var published: [Int64] = []
        for (version, key) in [(1, token), (1, other), (2, token), (1, elsewhere), (3, token)] {
            let job = try await store.enqueue(
                key,
                stateVersion: version,
                stateHash: Bytes32(word: UInt64(version)),
                templateHash: .zero
            ).job
            let batch = try await store.openBatch().number
            _ = try await store.lease(owner: "w", limit: 1, seconds: 60, now: 1, batch: batch, only: [job.id])
            try await store.complete(publication(job, batch: batch), owner: "w", blocks: [])
            try await store.closeBatch(batch)
            if key == token { published.append(job.id) }
        }
        #expect(try await store.publications(of: token).map(\.jobId) == published, "oldest first, this token only")
        #expect(try await store.publications(of: token).map(\.batch) == [1, 3, 5])
        #expect(try await store.publications(of: TokenKey(chainId: 1, contract: contract, id: 9)).isEmpty)
        #expect(try await store.latestPublication(token)?.jobId == published.last)
        // What was published after a row: every token, oldest first, in pages.
        let all = try await store.publications(afterRow: 0, limit: 10)
        #expect(all.map(\.publication.batch) == [1, 2, 3, 4, 5])
        #expect(all.map(\.row) == all.map(\.row).sorted() && Set(all.map(\.row)).count == 5)
        let after = try await store.publications(afterRow: all[1].row, limit: 2)
        #expect(after.map(\.row) == [all[2].row, all[3].row])
        #expect(try await store.publications(afterRow: all[4].row, limit: 10).isEmpty)
    }

    @Test(arguments: StoreKind.allCases) func keepsWhatAnOutputFileHolds(kind: StoreKind) async throws {
        let store = try await kind.make().store
        #expect(try await store.outputMark("/srv/out/manifest.json") == nil)
        let first = OutputMark(publication: 12, stamp: "2049:77:5120:1.5:1.5")
        try await store.setOutputMark("/srv/out/manifest.json", first)
        #expect(try await store.outputMark("/srv/out/manifest.json") == first)
        let later = OutputMark(publication: 40, stamp: "2049:78:6000:2.5:2.5")
        try await store.setOutputMark("/srv/out/manifest.json", later)  // replaced, not added
        #expect(try await store.outputMark("/srv/out/manifest.json") == later)
        #expect(try await store.outputMark("/srv/other/manifest.json") == nil)
    }

    @Test(arguments: StoreKind.allCases) func collectionPagesAreKeysetPagesInNumericOrder(kind: StoreKind)
        async throws
    {
        let (store, _) = try await kind.make()
        // Ids whose text order is not their numeric order, one token published twice, one on another chain.
        let ids: [UInt64] = [100, 9, 10, 2, 1_000, 11, 9, 3]
        var latest: [UInt64: Int64] = [:]
        let batch = try await store.openBatch().number
        for (version, id) in ids.enumerated() {
            let key = TokenKey(chainId: 1, contract: contract, id: BigUInt(id))
            let job = try await store.enqueue(
                key,
                stateVersion: version + 1,
                stateHash: Bytes32(word: UInt64(version + 1)),
                templateHash: .zero
            ).job
            _ = try await store.lease(owner: "w", limit: 1, seconds: 60, now: 1, batch: batch, only: [job.id])
            try await store.complete(publication(job, batch: batch), owner: "w", blocks: [])
            latest[id] = job.id
        }
        let away = try await store.enqueue(
            TokenKey(chainId: 2, contract: contract, id: 5),
            stateVersion: 1,
            stateHash: Bytes32(word: 99),
            templateHash: .zero
        ).job
        #expect(try await store.unfinishedJobs() == 1, "one queued; the others done")
        _ = try await store.lease(owner: "w", limit: 1, seconds: 60, now: 1, batch: batch, only: [away.id])
        #expect(try await store.unfinishedJobs() == 1, "leased")
        try await store.complete(publication(away, batch: batch), owner: "w", blocks: [])
        #expect(try await store.unfinishedJobs() == 0)
        try await store.closeBatch(batch)

        func page(_ direction: TokenPage.Direction, _ from: String?, _ limit: Int) async throws -> [String] {
            try await store.latestPublications(
                chainId: 1,
                contract: contract,
                page: TokenPage(direction, from, limit: limit)
            ).map(\.token.tokenId)
        }
        #expect(try await page(.after, nil, 3) == ["2", "3", "9"])
        #expect(try await page(.after, "9", 3) == ["10", "11", "100"])
        #expect(try await page(.after, "100", 3) == ["1000"])
        #expect(try await page(.after, "1000", 3) == [])
        #expect(try await page(.before, "10", 2) == ["3", "9"], "the two before 10, in order")
        #expect(try await page(.before, nil, 2) == ["100", "1000"], "the last page")
        #expect(try await page(.before, "2", 5) == [])
        let nine = try await store.latestPublications(
            chainId: 1,
            contract: contract,
            page: TokenPage(.after, "3", limit: 1)
        )
        #expect(nine.map(\.jobId) == [latest[9]!], "a token's latest publication")

        #expect(
            try await store.published(chainId: 1, contract: contract)
                == PublishedTotals(tokens: 7, publications: 8, lastBatch: batch)
        )
        #expect(
            try await store.published(chainId: 3, contract: contract)
                == PublishedTotals(tokens: 0, publications: 0, lastBatch: nil)
        )
        #expect(try await store.publishedTotals() == PublishedTotals(tokens: 8, publications: 9, lastBatch: batch))
    }

    @Test(arguments: StoreKind.allCases) func aFailedCompletionKeepsNoBlockAndNoRow(kind: StoreKind) async throws {
        let (store, _) = try await kind.make()
        let job = try await store.enqueue(token, stateVersion: 1, stateHash: Bytes32(word: 1), templateHash: .zero).job
        let batch = try await store.openBatch().number
        _ = try await store.lease(owner: "a", limit: 1, seconds: 10, now: 100, batch: batch, only: nil)
        // a's lease expired and b took the job over: a's late completion is refused, whole.
        _ = try await store.lease(owner: "b", limit: 1, seconds: 10, now: 200, batch: batch, only: nil)
        await #expect(throws: StoreError.self) {
            try await store.complete(
                publication(job, batch: batch),
                owner: "a",
                blocks: [StoredBlock(cid: "bafylate", bytes: [9])]
            )
        }
        #expect(try await store.publications(batch: nil).isEmpty)
        #expect(try await store.blockCIDs().isEmpty)
        #expect(try await store.leases().map(\.owner) == ["b"])
    }

    @Test(arguments: StoreKind.allCases) func reclaimKeepsTheLeasesOfLiveWorkers(kind: StoreKind) async throws {
        let (store, _) = try await kind.make()
        for id in 0..<4 {
            _ = try await store.enqueue(
                TokenKey(chainId: 1, contract: contract, id: BigUInt(id)),
                stateVersion: 1,
                stateHash: Bytes32(word: UInt64(id)),
                templateHash: .zero
            )
        }
        let batch = try await store.openBatch().number
        _ = try await store.lease(owner: "dead", limit: 2, seconds: 600, now: 1, batch: batch, only: nil)
        let alive = try await store.lease(owner: "alive", limit: 2, seconds: 600, now: 1, batch: batch, only: nil)
        #expect(try await store.renewLeases(owner: "dead", jobs: alive.map(\.id), until: 5000) == 0, "not its jobs")
        #expect(try await store.renewLeases(owner: "alive", jobs: [], until: 5000) == 0)
        #expect(try await store.renewLeases(owner: "alive", jobs: alive.map(\.id), until: 5000) == 2)
        #expect(try await store.lease(owner: "y", limit: 9, seconds: 60, now: 4000, batch: batch, only: nil).count == 2)
        #expect(Set(try await store.leases().map(\.owner)) == ["alive", "y"], "renewed leases outlive the old expiry")
        #expect(try await store.reclaimLeases(keeping: ["alive"]) == 2)
        #expect(Set(try await store.leases().map(\.owner)) == ["alive"])
        #expect(try await store.leases().allSatisfy { $0.until == 5000 })
        // Reclaimed jobs count as untried: the batch takes them again.
        #expect(try await store.lease(owner: "x", limit: 9, seconds: 600, now: 2, batch: batch, only: nil).count == 2)
        try await store.heartbeat(
            WorkerRecord(name: "alive", host: "h", started: 1, seen: 5, state: "running", jobs: 3)
        )
        try await store.heartbeat(WorkerRecord(name: "alive", host: "h", started: 1, seen: 9, state: "idle", jobs: 4))
        #expect(
            try await store.workers() == [
                WorkerRecord(name: "alive", host: "h", started: 1, seen: 9, state: "idle", jobs: 4)
            ]
        )
    }

    @Test func oneLivenessRule() {
        let worker = WorkerRecord(name: "w", host: "h", started: 1, seen: 100, state: "running", jobs: 0)
        #expect(worker.isAlive(at: 100 + 599, leaseSeconds: 600))
        #expect(!worker.isAlive(at: 100 + 600, leaseSeconds: 600), "seen a whole lease period ago: gone")
        var stopped = worker
        stopped.state = "stopped"
        #expect(!stopped.isAlive(at: 101, leaseSeconds: 600), "a stopped worker holds nothing, however recent")
    }

    @Test(arguments: StoreKind.allCases) func oneLockHolderAtATime(kind: StoreKind) async throws {
        let (store, another) = try await kind.make()
        let other = try await another()
        var lock = try await store.tryLock()
        #expect(lock != nil)
        #expect(try await other.tryLock() == nil, "a second coordinator does not get the lock")
        lock = nil
        // PostgreSQL lets go when the lock's connection has closed.
        var taken: StoreLock?
        for _ in 0..<50 where taken == nil {
            taken = try await other.tryLock()
            if taken == nil { try await Task.sleep(for: .milliseconds(100)) }
        }
        #expect(taken != nil, "released with its holder")
        _ = lock
    }
}
