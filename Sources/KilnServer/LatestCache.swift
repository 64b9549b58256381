// Kiln — Apache-2.0. See LICENSE.

internal import KilnCore
internal import KilnStore
internal import Synchronization

/// What the metadata API reads for each request — the token's latest publication — kept while the store has
/// published nothing since. Whether it has is one small read (``Store/publishedTotals()``: its count of
/// publications grows with each one and never shrinks, publications are only ever added), shared by all the
/// requests waiting at that moment.
///
/// A request is answered from a check that *started after it arrived*, so it never sees an older state than the
/// one at its arrival: a marketplace that fetches again on a `MetadataUpdate` gets the new version, never the
/// one before (which a timer-based cache could give). Under load one check serves a whole queue of requests;
/// a single client pays one small read per request, as before.
final class LatestCache: Sendable {
    /// What the metadata API needs of a publication.
    struct Entry: Sendable, Equatable {
        let metadata: String
        let image: String
        let batch: Int
    }

    /// Tokens kept at most (about 300 bytes each); past it, all are dropped and kept again as asked for.
    let capacity: Int
    private let state = Mutex(State())

    private struct State {
        /// The store's count of publications when `entries` were read.
        var generation: Int?
        /// `.some(nil)`: the token has no publication.
        var entries: [TokenKey: Entry?] = [:]
        var checking = false
        /// Requests that arrived during the check in flight: the next check answers them.
        var waiting: [CheckedContinuation<Turn, Never>] = []
    }

    private enum Turn {
        case checked(Result<Int, StoreError>)
        /// This request runs the next check, for itself and the requests waiting when it starts.
        case lead
    }

    init(capacity: Int) { self.capacity = capacity }

    /// The store's generation, read by a check that started after this call: at once when none is in flight,
    /// else after the one in flight, together with every request that came meanwhile.
    func generation(_ read: @escaping @Sendable () async throws(StoreError) -> Int) async throws(StoreError) -> Int {
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let lead = state.withLock { state -> Bool in
                guard !state.checking else {
                    state.waiting.append(continuation)
                    return false
                }
                state.checking = true
                return true
            }
            if lead { continuation.resume(returning: .lead) }
        }
        if case .checked(let result) = turn { return try result.get() }
        let cohort = state.withLock { state in
            defer { state.waiting = [] }
            return state.waiting
        }
        // In a task of its own: a leader whose client goes away (its task cancelled) must not fail the others.
        let result = await Task { () async -> Result<Int, StoreError> in
            do throws(StoreError) { return .success(try await read()) } catch { return .failure(error) }
        }.value
        let next = state.withLock { state -> CheckedContinuation<Turn, Never>? in
            if case .success(let generation) = result, generation != state.generation {
                state.generation = generation
                state.entries.removeAll(keepingCapacity: true)
            }
            guard !state.waiting.isEmpty else {
                state.checking = false
                return nil
            }
            return state.waiting.removeFirst()
        }
        for waiter in cohort { waiter.resume(returning: .checked(result)) }
        next?.resume(returning: .lead)
        return try result.get()
    }

    /// The token's entry read at `generation`: nil when not kept (or kept for another generation), `.some(nil)`
    /// when it was not published.
    func entry(_ token: TokenKey, at generation: Int) -> Entry?? {
        state.withLock { state in state.generation == generation ? state.entries[token] : nil }
    }

    /// Keeps what the store said of `token` after a check found `generation` — unless a later check has moved on.
    func keep(_ token: TokenKey, _ entry: Entry?, at generation: Int) {
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[token] = .some(entry)
        }
    }

    /// Tokens kept now.
    var count: Int { state.withLock { $0.entries.count } }

    /// Requests waiting for the next check now.
    var waiting: Int { state.withLock { $0.waiting.count } }
}
