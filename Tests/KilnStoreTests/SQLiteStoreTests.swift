import Foundation
import KilnCore
import KilnStore
import Testing

func temporaryDatabase() async throws -> (String, URL) {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("kiln-store-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return (folder.appendingPathComponent("kiln.sqlite").path, folder)
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

struct EventStoreTests {
    @Test func recordsLogsOnceAndMovesTheCursor() async throws {
        let (path, folder) = try await temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: path)
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

    @Test func rewindMarksLaterLogsRemoved() async throws {
        let (path, folder) = try await temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: path)
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

    @Test func aLogWithoutPositionIsRefusedAndNothingIsWritten() async throws {
        let (path, folder) = try await temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: path)
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
        tokenId: "115792089237316195423570985008687907853269984665640564039457584007913129639935"
    )

    @Test func stateVersionsChangeOnlyWithTheHash() async throws {
        let (path, folder) = try await temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: path)
        #expect(try await store.saveState(token, json: ["level": 1], hash: Bytes32(word: 1)) == (1, true))
        #expect(try await store.saveState(token, json: ["level": 1], hash: Bytes32(word: 1)) == (1, false))
        #expect(try await store.saveState(token, json: ["level": 2], hash: Bytes32(word: 2)) == (2, true))
    }

    @Test func oneJobPerTokenStateAndTemplate() async throws {
        let (path, folder) = try await temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: path)
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

    @Test func leasesExpireAndOnlyTheOwnerFinishes() async throws {
        let (path, folder) = try await temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: path)
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

    @Test func twoWorkersOnOneFileNeverShareAJob() async throws {
        let (path, folder) = try await temporaryDatabase()
        defer { try? FileManager.default.removeItem(at: folder) }
        let setup = try SQLiteStore(path: path)
        for index in 0..<200 {
            _ = try await setup.enqueue(
                TokenKey(chainId: 1, contract: contract, tokenId: String(index)),
                stateVersion: 1,
                stateHash: Bytes32(word: UInt64(index)),
                templateHash: .zero
            )
        }
        // Two stores are two connections to one file, as two `kiln batch` processes would be.
        let stores = [try SQLiteStore(path: path), try SQLiteStore(path: path)]
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
