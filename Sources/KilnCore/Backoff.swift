// Kiln — Apache-2.0. See LICENSE.

/// How long to wait before trying a request again that may succeed then (a transport error, HTTP 5xx, HTTP 429):
/// exponential backoff with jitter, a server's `Retry-After` honoured up to a cap, and a wait that ends with
/// `CancellationError` when the task is cancelled — never swallowed. One policy for every client Kiln has (JSON-RPC,
/// operator nodes, IPFS providers).
///
/// ```swift
/// let backoff = Backoff(attempts: 3, first: .milliseconds(250))
/// for attempt in 1...backoff.attempts {
///     if attempt > 1 { try await backoff.wait(retry: attempt - 1, retryAfter: lastRetryAfter) }
///     …
/// }
/// ```
public struct Backoff: Sendable, Hashable {
    /// Tries in all (the first one included).
    public var attempts: Int
    /// The wait before the first retry (then doubling).
    public var first: Duration
    /// The longest computed wait.
    public var limit: Duration
    /// The longest wait a server's `Retry-After` may ask for.
    public var maxRetryAfter: Duration

    public init(
        attempts: Int,
        first: Duration,
        limit: Duration = .seconds(8),
        maxRetryAfter: Duration = .seconds(30)
    ) {
        self.attempts = max(1, attempts)
        self.first = first
        self.limit = limit
        self.maxRetryAfter = maxRetryAfter
    }

    /// The wait before retry `retry` (1, 2, …): the server's `retryAfter` when it gave one (at most
    /// ``maxRetryAfter``), else a random duration in [d/2, d] for d = ``first`` · 2^(retry − 1), at most ``limit``
    /// (jitter, so that many clients refused at once do not come back at once).
    public func delay(retry: Int, retryAfter: Duration? = nil) -> Duration {
        if let retryAfter { return min(max(retryAfter, .zero), maxRetryAfter) }
        var base = first
        for _ in 1..<max(1, retry) where base < limit { base *= 2 }
        base = min(base, limit)
        let nanoseconds = base.components.seconds * 1_000_000_000 + base.components.attoseconds / 1_000_000_000
        return .nanoseconds(Int64.random(in: nanoseconds / 2...max(nanoseconds / 2, nanoseconds)))
    }

    /// Sleeps for ``delay(retry:retryAfter:)``.
    /// - Throws: `CancellationError` as soon as the task is cancelled.
    public func wait(retry: Int, retryAfter: Duration? = nil) async throws(CancellationError) {
        do { try await Task.sleep(for: delay(retry: retry, retryAfter: retryAfter)) } catch {
            throw CancellationError()
        }
    }

    /// A `Retry-After` header's delay: delta-seconds only (an HTTP date gives nil: the computed backoff is used).
    public static func retryAfter(_ header: String?) -> Duration? {
        guard let header, let seconds = Int(header.trimmingCharacters(in: " \t")), seconds >= 0 else { return nil }
        return .seconds(seconds)
    }
}

extension String {
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text = text.dropFirst() }
        while let last = text.last, set.contains(last) { text = text.dropLast() }
        return String(text)
    }
}
