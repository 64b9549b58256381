// Kiln — Apache-2.0. See LICENSE.

import Foundation
import KilnCore
import KilnPipeline
import KilnStore
import KilnTesting
import Testing

struct StoreStatusTests {
    @Test func workersLeasesAndOrphansByTheOneLivenessRule() async throws {
        let folder = try temporaryFolder("status")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLiteStore(path: folder.appendingPathComponent("kiln.sqlite").path)
        for id in 1...2 {
            let token = try TokenKey(chainId: 1, contract: .zero, tokenId: "\(id)")
            _ = try await store.enqueue(token, stateVersion: 1, stateHash: .zero, templateHash: .zero)
        }
        _ = try await store.lease(owner: "alive", limit: 1, seconds: 600, now: 1000)
        _ = try await store.lease(owner: "gone", limit: 1, seconds: 600, now: 1000)
        try await store.heartbeat(
            WorkerRecord(name: "alive", host: "h", started: 1, seen: 1500, state: "running", jobs: 0)
        )
        try await store.heartbeat(
            WorkerRecord(name: "gone", host: "h", started: 1, seen: 100, state: "running", jobs: 2)
        )

        let status = try await StoreStatus.read(from: store, leaseSeconds: 600, now: 1600)
        #expect(
            status.jobs["leased"] == 2 && status.jobs["queued"] == 0 && status.jobs.count == JobStatus.allCases.count
        )
        #expect(status.workers.map(\.name) == ["alive", "gone"] && status.workers.map(\.alive) == [true, false])
        #expect(status.orphanLeases.map(\.owner) == ["gone"])
        #expect(status.leases.allSatisfy { $0.secondsLeft == 0 }, "leased at 1000 for 600 s, read at 1600")

        // JSON from the same value: absent values are null, not missing.
        let json = try JSONValue.parse(bytes: Array(try JSONEncoder().encode(status)))
        #expect(json["openBatch"] == .null && json["lastPublishedBatch"] == .null)
        #expect(json["workers"].map { if case .array(let items) = $0 { items.count } else { 0 } } == 2)
    }
}
