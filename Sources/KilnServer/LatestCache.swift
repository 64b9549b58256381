// Kiln — Apache-2.0. See LICENSE.

internal import HTTPTypes
internal import KilnCore
internal import KilnStore
internal import NIOCore
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
        /// The header fields of the metadata API's answer with each file (``Site/tokenHead(cid:image:batch:)``), made once.
        let metadataHead: HTTPFields
        let imageHead: HTTPFields

        init(metadata: String, image: String, batch: Int) {
            self.metadata = metadata
            self.image = image
            self.batch = batch
            metadataHead = Site.tokenHead(cid: metadata, image: false, batch: batch)
            imageHead = Site.tokenHead(cid: image, image: true, batch: batch)
        }
    }

    /// The metadata API's answer to one request target (a token's `metadata.json` or image), made from its entry
    /// and its file for ``HotPath`` to write as it is (with a `Date` and `Server` of its own).
    struct TokenAnswer: Sendable {
        /// The file's entity tag, quoted (the answer's `ETag`).
        let etag: String
        /// The `200` answer's status line and header fields, `Content-Length` last, and its body.
        let ok: EncodedHead
        let body: ByteBuffer
        /// The `304` answer's to a request whose `If-None-Match` names `etag`.
        let notModified: EncodedHead
    }

    /// Tokens kept at most (about 300 bytes each); past it, all are dropped and kept again as asked for.
    let capacity: Int
    /// Bytes of kept answers at most; past it, all are dropped and made again as asked for.
    static let answerCapacity = 16 << 20
    private let state = Mutex(State())

    private struct State {
        /// The store's count of publications when `entries` were read.
        var generation: Int?
        /// `.some(nil)`: the token has no publication.
        var entries: [TokenKey: Entry?] = [:]
        /// Answers made from `entries`, by request target, and their bytes.
        var answers: [String: TokenAnswer] = [:]
        var answerBytes = 0
        /// Requests waiting for a check, and whether one runs.
        var queue = CheckQueue()

        /// What a check read: another generation drops the entries read at the one before.
        mutating func move(to generation: Int) {
            guard generation != self.generation else { return }
            self.generation = generation
            entries.removeAll(keepingCapacity: true)
            answers.removeAll(keepingCapacity: true)
            answerBytes = 0
        }
    }

    /// What a request is told: the generation a check read, or why it could not.
    typealias Answer = @Sendable (Result<Int, StoreError>) -> Void
    /// A check of the store: reads its count of publications and tells `answer`, once, from any thread.
    typealias Check = @Sendable (_ answer: @escaping Answer) -> Void

    init(capacity: Int) { self.capacity = capacity }

    /// The store's generation, read by a check that started after this call: at once when none is in flight,
    /// else after the one in flight, together with every request that came meanwhile.
    func generation(check: @escaping Check) async throws(StoreError) -> Int {
        try await withCheckedContinuation { (continuation: CheckedContinuation<Result<Int, StoreError>, Never>) in
            generation(check: check) { continuation.resume(returning: $0) }
        }.get()
    }

    /// The same, checked by `read` in a task (``check(_:)``).
    func generation(_ read: @escaping @Sendable () async throws(StoreError) -> Int) async throws(StoreError) -> Int {
        try await generation(check: Self.check(read))
    }

    /// A check by an async read, in a task of its own: no request's cancellation (a client gone) may fail the
    /// others.
    static func check(_ read: @escaping @Sendable () async throws(StoreError) -> Int) -> Check {
        { answer in
            Task {
                do throws(StoreError) { answer(.success(try await read())) } catch { answer(.failure(error)) }
            }
        }
    }

    /// The same for a caller that cannot wait (``HotPath``, on NIO's event loop): `answer` is called once, from the
    /// thread the check ends on, with what a check that started after this call read.
    func generation(check: @escaping Check, answer: @escaping Answer) {
        if state.withLock({ $0.queue.join(answer) }) { run(check) }
    }

    /// One check for the requests waiting now; those that come during it wait for the next.
    private func run(_ check: @escaping Check) {
        let cohort = state.withLock { $0.queue.cohort() }
        check { result in
            let again = self.state.withLock { state -> Bool in
                if case .success(let generation) = result { state.move(to: generation) }
                return state.queue.ended()
            }
            for answer in cohort { answer(result) }
            if again { self.run(check) }
        }
    }

    /// Takes what a check made elsewhere read (``HotPath``'s, on an event loop), as a check of its own would.
    func observe(_ generation: Int) { state.withLock { $0.move(to: generation) } }

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

    /// The answer kept for the request target `path` at `generation`: nil when none is.
    func answer(_ path: String, at generation: Int) -> TokenAnswer? {
        state.withLock { state in state.generation == generation ? state.answers[path] : nil }
    }

    /// Keeps the answer to `path` made from what was read at `generation` — unless a later check has moved on.
    func keep(_ answer: TokenAnswer, for path: String, at generation: Int) {
        let bytes = answer.body.readableBytes + answer.ok.bytes.readableBytes + path.utf8.count + 256
        guard bytes <= Self.answerCapacity / 32 else { return }  // a large image would push out many small answers
        state.withLock { state in
            guard state.generation == generation else { return }
            if state.answerBytes + bytes > Self.answerCapacity {
                state.answers.removeAll(keepingCapacity: true)
                state.answerBytes = 0
            }
            if state.answers.updateValue(answer, forKey: path) == nil { state.answerBytes += bytes }
        }
    }

    /// Tokens kept now.
    var count: Int { state.withLock { $0.entries.count } }

    /// Requests waiting for the next check now.
    var waiting: Int { state.withLock { $0.queue.count } }
}

/// Requests waiting for a check of the store, and whether one runs (``LatestCache``'s shared check, and each event
/// loop's in ``EventLoopMailbox``): a check answers the requests waiting when it starts; those that come while it
/// runs wait for the next — so every answer comes from a check that started after its request.
struct CheckQueue {
    private var waiting: [LatestCache.Answer] = []
    private var checking = false

    /// Requests waiting now.
    var count: Int { waiting.count }

    /// Queues `answer`; true when no check runs or is asked for: the caller starts one.
    mutating func join(_ answer: @escaping LatestCache.Answer) -> Bool {
        waiting.append(answer)
        guard !checking else { return false }
        checking = true
        return true
    }

    /// The requests a check starting now answers.
    mutating func cohort() -> [LatestCache.Answer] {
        defer { waiting = [] }
        return waiting
    }

    /// After a check: true when requests wait for another (the caller starts it); else no check runs.
    mutating func ended() -> Bool {
        if waiting.isEmpty { checking = false }
        return checking
    }
}
