import Foundation
import KilnCore
import Synchronization
import Testing

/// ``withDeadline(_:expired:_:)``: the first of the operation and its timer wins, the other is cancelled.
struct DeadlineTests {
    struct Expired: Error, Equatable {}

    @Test func theOperationsValueWhenItIsFirst() async throws {
        let value = try await withDeadline(.seconds(3600), expired: { Expired() }) { () async throws(Expired) in 42 }
        #expect(value == 42)
        await #expect(throws: Expired.self) {
            try await withDeadline(.seconds(3600), expired: { Expired() }) { () async throws(Expired) -> Int in
                throw Expired()
            }
        }
    }

    /// A hung operation: the timer's error, not the operation's value five minutes later, and the operation cancelled.
    /// No upper bound on the wait: under CI's load (every suite at once, the cooperative pool busy with renders) a
    /// resumed task can wait tens of seconds for a thread — one run measured 80 s — though the timer fired on time.
    @Test func theTimersErrorWhenTheOperationHangs() async throws {
        let cancelled = Flag()
        let started = ContinuousClock.now
        await #expect(throws: Expired.self) {
            try await withDeadline(.milliseconds(50), expired: { Expired() }) { () async throws(Expired) -> Int in
                do { try await Task.sleep(for: .seconds(300)) } catch { cancelled.set() }
                return 1
            }
        }
        let waited = ContinuousClock.now - started
        #expect(waited >= .milliseconds(50), "the deadline, not earlier: \(waited)")
        for _ in 0..<2_400 where !cancelled.isSet { try await Task.sleep(for: .milliseconds(50)) }
        #expect(cancelled.isSet, "the losing operation is cancelled")
        // A deadline already past, and one past what Dispatch counts: each still a deadline, not a crash.
        await #expect(throws: Expired.self) {
            try await withDeadline(.seconds(-1), expired: { Expired() }) { () async throws(Expired) -> Int in
                try? await Task.sleep(for: .seconds(300))
                return 1
            }
        }
        // An operation that ends within its deadline is not cut short by it (a deadline wide enough for CI's load).
        let slow = try await withDeadline(.seconds(600), expired: { Expired() }) { () async throws(Expired) -> Int in
            try? await Task.sleep(for: .milliseconds(300))
            return 3
        }
        #expect(slow == 3)
        let far = try await withDeadline(.seconds(Int64.max), expired: { Expired() }) { () async throws(Expired) in 7 }
        #expect(far == 7)
    }

    final class Flag: Sendable {
        private let value = Mutex(false)
        func set() { value.withLock { $0 = true } }
        var isSet: Bool { value.withLock { $0 } }
    }
}
