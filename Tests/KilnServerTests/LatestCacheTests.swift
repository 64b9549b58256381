import Foundation
import KilnCore
import KilnStore
import Synchronization
import Testing

@testable import KilnServer

/// The metadata API's ``LatestCache``: one check of the store for all the requests waiting together, a check that
/// always started after the request arrived, and entries only for the generation they were read at.
struct LatestCacheTests {
    /// A store read the test lets finish one at a time; each returns its own ordinal (1, 2, …).
    final class GatedRead: Sendable {
        private let state = Mutex<(started: Int, released: Int, waiters: [Int: CheckedContinuation<Void, Never>])>(
            (0, 0, [:])
        )
        var started: Int { state.withLock { $0.started } }

        func read() async -> Int {
            let ordinal = state.withLock { state in
                state.started += 1
                return state.started
            }
            await withCheckedContinuation { continuation in
                let go = state.withLock { state -> Bool in
                    guard state.released < ordinal else { return true }
                    state.waiters[ordinal] = continuation
                    return false
                }
                if go { continuation.resume() }
            }
            return ordinal
        }

        func release(_ ordinal: Int) {
            let waiter = state.withLock { state in
                state.released = max(state.released, ordinal)
                return state.waiters.removeValue(forKey: ordinal)
            }
            waiter?.resume()
        }
    }

    func until(_ condition: () -> Bool) async throws {
        for _ in 0..<2_000 where !condition() { try await Task.sleep(for: .milliseconds(5)) }
        #expect(condition())
    }

    /// Twenty requests that arrive while a check is in flight are answered by one more check, which started after
    /// they arrived — not by the check in flight (it may have read the store before what they must see).
    @Test func requestsThatArriveDuringACheckShareTheNextOne() async throws {
        let cache = LatestCache(capacity: 16)
        let gate = GatedRead()
        let first = Task { try await cache.generation { await gate.read() } }
        try await until { gate.started == 1 }
        let later = (0..<20).map { _ in Task { try await cache.generation { await gate.read() } } }
        try await until { cache.waiting == 20 }
        gate.release(1)
        #expect(try await first.value == 1)
        try await until { gate.started == 2 }
        gate.release(2)
        for request in later { #expect(try await request.value == 2, "answered by the check after their arrival") }
        #expect(gate.started == 2, "one check for the twenty")
        // Nothing in flight: the next request checks at once.
        gate.release(3)
        #expect(try await cache.generation { await gate.read() } == 3)
    }

    /// A failed check fails the requests it answers; the next one checks again.
    @Test func aFailedCheckFailsItsCohortOnly() async throws {
        let cache = LatestCache(capacity: 16)
        await #expect(throws: StoreError.self) {
            try await cache.generation { () async throws(StoreError) -> Int in throw StoreError(.database, "down") }
        }
        #expect(try await cache.generation { 7 } == 7)
    }

    /// Entries hold for the generation they were read at: a new publication (the count moves) drops them all, a
    /// read made before the move is not kept after it, and "not published" is kept like any answer.
    @Test func entriesHoldForTheirGenerationOnly() async throws {
        let cache = LatestCache(capacity: 2)
        let one = try TokenKey(chainId: 1, contract: .zero, tokenId: "1")
        let two = try TokenKey(chainId: 1, contract: .zero, tokenId: "2")
        let entry = LatestCache.Entry(metadata: "bafy-metadata", image: "bafy-image", batch: 3)
        let generation = try await cache.generation { 10 }
        #expect(cache.entry(one, at: generation) == nil, "nothing kept yet")
        cache.keep(one, entry, at: generation)
        cache.keep(two, nil, at: generation)
        #expect(cache.entry(one, at: 10) == .some(entry))
        #expect(cache.entry(two, at: 10) == .some(nil), "not published: kept too")
        #expect(cache.entry(one, at: 9) == nil, "another generation's request does not use them")

        #expect(try await cache.generation { 11 } == 11)
        #expect(cache.entry(one, at: 11) == nil && cache.count == 0, "a new publication drops every entry")
        cache.keep(one, entry, at: 10)
        #expect(cache.count == 0, "a read made at the older generation is not kept")

        // Past the capacity: dropped and kept again as asked for.
        let three = try TokenKey(chainId: 1, contract: .zero, tokenId: "3")
        for token in [one, two, three] { cache.keep(token, entry, at: 11) }
        #expect(cache.count <= 2 && cache.entry(three, at: 11) == .some(entry))
    }
}
