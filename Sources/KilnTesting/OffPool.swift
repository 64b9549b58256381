// Kiln — Apache-2.0. See LICENSE.

internal import Foundation

/// Runs blocking `body` (a child process wait, a pipe read) on a thread of its own and awaits it, so no thread
/// of Swift's cooperative pool ever waits: with tests in parallel on two cores, two blocked pool threads would
/// stall every other test, and any in-process server (Hummingbird handlers run on the pool) with them.
public func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
