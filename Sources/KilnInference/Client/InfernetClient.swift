// Kiln — Apache-2.0. See LICENSE.

public import AsyncHTTPClient
internal import Foundation
public import KilnCore
internal import NIOCore
internal import NIOHTTP1

/// Runs Kiln jobs through one Ritual Infernet node's REST API (`shared/INFERNET.md` §3), for every operator
/// reached through it. Submissions that arrive together go out as one `POST /api/jobs/batch` (one alone as
/// `POST /api/jobs`); one loop polls every job still running with one `GET /api/jobs?id=…&id=…`, backing off from
/// 25 ms to 1 s while nothing changes (never faster than once a second after a 429); a 429 is waited out as its
/// `Retry-After` says. The caller bounds the whole wait (the node timeout).
public actor InfernetClient {
    /// The Infernet node's base URL.
    public nonisolated let node: String
    private let http: HTTPClient
    private let maxResponseBytes: Int
    /// Most jobs in one batch submission, and ids in one poll.
    private let batchLimit = 64
    /// Polls a job may be missing from the node's answer before it counts as lost (ids the node does not know
    /// are silently left out).
    private let allowedMisses = 3
    /// How long polls may fail in a row (a node restarting) before every job they ask for is failed (the quorum
    /// round then retries or gives up).
    private let allowedPollOutage = Duration.seconds(5)

    private struct Submission {
        let token: UInt64
        let body: JSONValue
        let waiter: CheckedContinuation<Result<String, InferenceError>, Never>
    }
    private struct Watch {
        let waiter: CheckedContinuation<Result<JSONValue, InferenceError>, Never>
        var misses = 0
    }
    private var outbox: [Submission] = []
    private var sending = false
    private var watching: [String: Watch] = [:]
    private var polling = false
    /// Set once the node answered 429: from then on polls are at most one a second (Infernet's default limit is
    /// 60 requests a minute per route and client IP).
    private var throttled = false
    private var nextToken: UInt64 = 0

    /// A client for the Infernet node at `node` (its base URL, without a trailing slash).
    public init(node: String, http: HTTPClient = .shared, maxResponseBytes: Int = 64 << 20) {
        self.node = node
        self.http = http
        self.maxResponseBytes = maxResponseBytes
    }

    /// Runs `data` on `container` and returns the container's JSON output.
    /// - Throws: ``InferenceError``: `.transport` with `HTTP 405: …` when the node refuses the container, `HTTP
    ///   <code>: …` when the container answered with Kiln's JSON error (which the node reports as a successful
    ///   job), the node's message for other failures;
    ///   `.badResponse` when the node's answers are malformed. Cancelling the calling task stops waiting.
    public func run(container: String, data: JSONValue) async throws(InferenceError) -> JSONValue {
        let id = try await submit(["containers": [.string(container)], "data": data]).get()
        return try await result(of: id).get()
    }

    /// `GET /info`, in words: the node's version, its containers, jobs pending, and whether `container` is one of
    /// them (`kiln operators`).
    public func describe(container: String) async throws(InferenceError) -> String {
        let (status, json) = try await exchange(.GET, "/info", body: nil).get()
        guard status == 200, case .array(let list)? = json["containers"] else {
            throw InferenceError(
                .badResponse,
                "Infernet node \(node): /info answered HTTP \(status) without containers"
            )
        }
        let ids = list.compactMap { $0["id"]?.stringValue }
        let pending = json["pending"]
        let offered =
            ids.contains(container)
            ? "container \(container) offered"
            : "container \(container) NOT offered (it offers \(ids.joined(separator: ", ")))"
        return "Infernet node \(json["version"]?.stringValue ?? "?"), \(ids.count) container(s), pending "
            + "\(pending?["offchain"]?.integerValue.map(String.init) ?? "?") off-chain / "
            + "\(pending?["onchain"]?.integerValue.map(String.init) ?? "?") on-chain; \(offered)"
    }

    // MARK: Submitting, in batches

    private func submit(_ body: JSONValue) async -> Result<String, InferenceError> {
        nextToken += 1
        let token = nextToken
        return await withTaskCancellationHandler {
            await withCheckedContinuation { waiter in
                if Task.isCancelled {
                    waiter.resume(returning: .failure(InferenceError(.timeout, "cancelled")))
                    return
                }
                outbox.append(Submission(token: token, body: body, waiter: waiter))
                if !sending {
                    sending = true
                    Task { await self.sendLoop() }
                }
            }
        } onCancel: {
            Task { await self.dropSubmission(token) }
        }
    }

    private func dropSubmission(_ token: UInt64) {
        guard let index = outbox.firstIndex(where: { $0.token == token }) else { return }
        outbox.remove(at: index).waiter.resume(returning: .failure(InferenceError(.timeout, "cancelled")))
    }

    private func sendLoop() async {
        // A moment for the submissions of one round (every operator behind this node) to gather.
        try? await Task.sleep(for: .milliseconds(2))
        while !outbox.isEmpty {
            let batch = Array(outbox.prefix(batchLimit))
            outbox.removeFirst(batch.count)
            if batch.count == 1 {
                // One job: `POST /api/jobs` (a refused container is its HTTP 405).
                switch await exchange(.POST, "/api/jobs", body: batch[0].body) {
                case .failure(let error): batch[0].waiter.resume(returning: .failure(error))
                case .success(let (status, json)):
                    if status == 200, case .string(let id)? = json["id"], !id.isEmpty {
                        batch[0].waiter.resume(returning: .success(id))
                    } else {
                        batch[0].waiter.resume(returning: .failure(Self.refusal(status: status, json)))
                    }
                }
                continue
            }
            let answer = await exchange(.POST, "/api/jobs/batch", body: .array(batch.map(\.body)))
            switch answer {
            case .failure(let error):
                for submission in batch { submission.waiter.resume(returning: .failure(error)) }
            case .success(let (status, json)):
                guard status == 200, case .array(let items) = json, items.count == batch.count else {
                    let error = Self.refusal(status: status, json)
                    for submission in batch { submission.waiter.resume(returning: .failure(error)) }
                    continue
                }
                for (submission, item) in zip(batch, items) {
                    if case .string(let id)? = item["id"], !id.isEmpty {
                        submission.waiter.resume(returning: .success(id))
                    } else {
                        // Per-job refusals come in the array; the single-job route answers them with 405.
                        submission.waiter.resume(returning: .failure(Self.refusal(status: 405, item)))
                    }
                }
            }
        }
        sending = false
    }

    // MARK: Polling, for every job at once

    private func result(of id: String) async -> Result<JSONValue, InferenceError> {
        await withTaskCancellationHandler {
            await withCheckedContinuation { waiter in
                if Task.isCancelled {
                    waiter.resume(returning: .failure(InferenceError(.timeout, "cancelled")))
                    return
                }
                watching[id] = Watch(waiter: waiter)
                if !polling {
                    polling = true
                    Task { await self.pollLoop() }
                }
            }
        } onCancel: {
            Task { await self.stopWatching(id) }
        }
    }

    private func stopWatching(_ id: String) {
        watching.removeValue(forKey: id)?.waiter.resume(returning: .failure(InferenceError(.timeout, "cancelled")))
    }

    private func finish(_ id: String, _ result: Result<JSONValue, InferenceError>) {
        watching.removeValue(forKey: id)?.waiter.resume(returning: result)
    }

    private func pollLoop() async {
        var delay = Duration.milliseconds(25)
        var failingSince: ContinuousClock.Instant?
        /// A poll that failed: once they have failed for `allowedPollOutage`, its jobs fail with `error`.
        func pollFailed(_ chunk: ArraySlice<String>, _ error: InferenceError) {
            let since = failingSince ?? .now
            failingSince = since
            if ContinuousClock.now - since >= allowedPollOutage { for id in chunk { finish(id, .failure(error)) } }
        }
        while !watching.isEmpty {
            try? await Task.sleep(for: delay)
            var progressed = false
            for chunk in Array(watching.keys).chunked(batchLimit) {
                let query = chunk.map { "id=\($0)" }.joined(separator: "&")
                switch await exchange(.GET, "/api/jobs?\(query)", body: nil) {
                case .failure(let error): pollFailed(chunk, error)
                case .success(let (status, json)):
                    guard status == 200, case .array(let results) = json else {
                        pollFailed(chunk, Self.refusal(status: status, json))
                        continue
                    }
                    failingSince = nil
                    var seen = Set<String>()
                    for item in results {
                        guard case .string(let id)? = item["id"], watching[id] != nil else { continue }
                        seen.insert(id)
                        switch item["status"]?.stringValue {
                        case "running": continue
                        case "success":
                            progressed = true
                            if let output = item["result"]?["output"] {
                                // infernet-node records a container's JSON error as a successful job
                                // (`Orchestrator._run_job` stores whatever JSON came back): it is told apart here.
                                if let error = Self.containerError(output) {
                                    finish(id, .failure(error))
                                } else {
                                    finish(id, .success(output))
                                }
                            } else {
                                finish(
                                    id,
                                    .failure(InferenceError(.badResponse, "job \(id) succeeded without an output"))
                                )
                            }
                        case "failed":
                            progressed = true
                            finish(id, .failure(Self.jobFailure(item["result"])))
                        default:
                            progressed = true
                            finish(
                                id,
                                .failure(
                                    InferenceError(
                                        .badResponse,
                                        "job \(id) has status '\(item["status"]?.stringValue ?? "?")', not running|success|failed"
                                    )
                                )
                            )
                        }
                    }
                    for id in chunk where !seen.contains(id) {
                        watching[id]?.misses += 1
                        if let misses = watching[id]?.misses, misses >= allowedMisses {
                            finish(
                                id,
                                .failure(
                                    InferenceError(
                                        .transport,
                                        "the Infernet node no longer knows job \(id) (expired, or the node restarted)"
                                    )
                                )
                            )
                        }
                    }
                }
            }
            let floor: Duration = throttled ? .seconds(1) : .milliseconds(25)
            delay = progressed ? floor : max(floor, min(delay * 2, .seconds(1)))
        }
        polling = false
    }

    // MARK: HTTP

    /// One request; waits out 429 answers as their `Retry-After` says (the caller's deadline bounds it).
    private func exchange(_ method: HTTPMethod, _ path: String, body: JSONValue?) async -> Result<
        (UInt, JSONValue), InferenceError
    > {
        while true {
            var request = HTTPClientRequest(url: node + path)
            request.method = method
            if let body {
                request.headers.add(name: "Content-Type", value: "application/json")
                guard let bytes = try? body.canonicalBytes() else {
                    return .failure(InferenceError(.badInput, "the job request is not valid JSON"))
                }
                request.body = .bytes(ByteBuffer(bytes: bytes))
            }
            let status: UInt
            let bytes: [UInt8]
            let retryAfter: String?
            do {
                let response = try await http.execute(request, timeout: .seconds(30))
                status = response.status.code
                retryAfter = response.headers.first(name: "Retry-After")
                bytes = Array(buffer: try await response.body.collect(upTo: maxResponseBytes))
            } catch {
                if Task.isCancelled { return .failure(InferenceError(.timeout, "cancelled")) }
                return .failure(InferenceError(.transport, "Infernet node \(node): \(error)", cause: error))
            }
            if status == 429 {
                throttled = true
                let seconds = retryAfter.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 1
                do { try await Task.sleep(for: .seconds(min(max(seconds, 1), 60))) } catch {
                    return .failure(InferenceError(.timeout, "cancelled"))
                }
                continue
            }
            guard let json = try? JSONValue.parse(bytes: bytes) else {
                return .failure(InferenceError(.badResponse, "Infernet node \(node): HTTP \(status), body is not JSON"))
            }
            return .success((status, json))
        }
    }

    /// A refusal (`{"error", "params"}`) as an error with the node's status (a 4xx is final), its message starting
    /// `HTTP <status>:`.
    static func refusal(status: UInt, _ json: JSONValue) -> InferenceError {
        var message = json["error"]?.stringValue ?? "unexpected answer"
        if case .object(let params)? = json["params"], !params.isEmpty {
            message +=
                " (" + params.keys.sorted().map { "\($0) \(params[$0]?.stringValue ?? "?")" }.joined(separator: ", ")
                + ")"
        }
        var error = InferenceError(.transport, "HTTP \(status): Infernet node: \(message)", status: status)
        error.nodeMessage = "Infernet node: \(message)"
        return error
    }

    /// A failed job's reason: a Kiln container's JSON error inside the node's message (see ``containerError(_:)``),
    /// or the node's own message (a container it could not reach, an answer that is not JSON).
    static func jobFailure(_ result: JSONValue?) -> InferenceError {
        guard let text = result?["error"]?.stringValue else {
            return InferenceError(.badResponse, "the job failed without an error message")
        }
        if let json = try? JSONValue.parse(bytes: Array(text.utf8)), let error = containerError(json) {
            return error
        }
        let container = result?["container"]?.stringValue ?? "?"
        return InferenceError(.transport, "the Infernet job failed in container \(container): \(text)")
    }

    /// Kiln's container error, `{"code": "<HTTP status>", "name", "description"}` (``InfernetContainer/error(status:name:description:)``),
    /// as the error a direct node's answer with that status gives: `HTTP <code>: <description>`, with the status
    /// (so a 4xx is final) and the node's message. Nil for any other JSON: a real Infernet node hands it back as a
    /// successful job's `output` (`shared/INFERNET.md` §1), where it must not be mistaken for an answer.
    static func containerError(_ output: JSONValue) -> InferenceError? {
        guard case .string(let code)? = output["code"], code != "200", let status = UInt(code),
            case .string(let description)? = output["description"]
        else { return nil }
        var error = InferenceError(.transport, "HTTP \(code): \(description)", status: status)
        error.nodeMessage = description
        return error
    }
}

extension Array {
    fileprivate func chunked(_ size: Int) -> [ArraySlice<Element>] {
        stride(from: 0, to: count, by: size).map { self[$0..<Swift.min($0 + size, count)] }
    }
}
