// Kiln — Apache-2.0. See LICENSE.

public import AsyncHTTPClient
internal import Foundation
internal import Synchronization
internal import NIOCore
internal import NIOHTTP1
internal import KilnCore

/// Talks to inference nodes over HTTP: a Kiln node directly (`POST /v1/jobs`, `POST /v1/agreements`), or a Kiln
/// node behind an Infernet node (through one shared ``InfernetClient`` per Infernet node, so its jobs are batched).
public struct NodeClient: Sendable {
    public let http: HTTPClient
    /// Largest response accepted (the output is inside, base64).
    public var maxResponseBytes = 32 << 20
    /// The bearer token for each Kiln node that asks for one (`kiln node serve --auth-token-file`), by endpoint;
    /// sent as `Authorization: Bearer …` and never logged.
    public var bearers: [NodeEndpoint: String] = [:]
    private let infernet: InfernetClients

    public init(http: HTTPClient = .shared) {
        self.http = http
        infernet = InfernetClients(http: http)
    }

    /// The client for the Infernet node at `node` (one per node, shared by every copy of this client).
    public func infernetClient(_ node: String) -> InfernetClient { infernet.client(for: node) }

    /// Sends `request` to the node at `endpoint`.
    /// - Throws: ``InferenceError`` — `.timeout`, `.transport` (unreachable or HTTP error, with the node's
    ///   error message when it sent one; for an Infernet endpoint also a refused container or failed job) or
    ///   `.badResponse`.
    public func submit(_ request: JobRequest, to endpoint: NodeEndpoint, timeout: Duration) async throws(InferenceError)
        -> JobResponse
    {
        try await withDeadline(timeout, expired: { InferenceError(.timeout, "no answer within \(timeout)") }) {
            () async throws(InferenceError) -> JobResponse in
            let json = try await exchange(request.json, path: "/v1/jobs", with: endpoint, timeout: timeout)
            return try Self.read(json, from: endpoint, JobResponse.init(json:))
        }
    }

    /// Sends the agreement phase's `request` to the node at `endpoint` (`POST /v1/agreements`).
    /// - Throws: ``InferenceError`` as ``submit(_:to:timeout:)``; a refusal (HTTP 409, out of tolerance) is
    ///   `.transport` with the node's message.
    public func agree(_ request: AgreementRequest, to endpoint: NodeEndpoint, timeout: Duration)
        async throws(InferenceError) -> AgreementResponse
    {
        try await withDeadline(timeout, expired: { InferenceError(.timeout, "no answer within \(timeout)") }) {
            () async throws(InferenceError) -> AgreementResponse in
            let json = try await exchange(request.json, path: "/v1/agreements", with: endpoint, timeout: timeout)
            return try Self.read(json, from: endpoint, AgreementResponse.init(json:))
        }
    }

    /// Reads an answer. What an Infernet node hands back as a job's output is whatever JSON its container gave, so
    /// an output that is not a Kiln answer says what it was (its first 200 characters) next to what is missing.
    private static func read<Answer>(
        _ json: JSONValue,
        from endpoint: NodeEndpoint,
        _ parse: (JSONValue) throws(InferenceError) -> Answer
    ) throws(InferenceError) -> Answer {
        do { return try parse(json) } catch {
            guard case .infernet(let node, let container) = endpoint, error.code == .badResponse else { throw error }
            let text = (try? json.canonicalString()) ?? "?"
            let shown = text.count > 200 ? text.prefix(200) + "…" : Substring(text)
            throw InferenceError(
                .badResponse,
                "the Infernet node \(node) returned an output of container \(container) that is not a Kiln answer "
                    + "(\(error.message)): \(shown)",
                cause: error
            )
        }
    }

    /// One request to a Kiln node, directly or as an Infernet job for its container (the container protocol takes
    /// both kinds of request in `data`).
    private func exchange(_ body: JSONValue, path: String, with endpoint: NodeEndpoint, timeout: Duration)
        async throws(InferenceError) -> JSONValue
    {
        switch endpoint {
        case .kiln(let url):
            do throws(InferenceError) {
                return try await post(body, to: url + path, timeout: timeout, bearer: bearers[endpoint])
            } catch  where error.status == 408 {
                // RFC 9110 §15.5.9: the node closed a connection it found idle just as this request reused it; the
                // request may be sent again, at once, on a new connection (the deadline above still bounds it).
                return try await post(body, to: url + path, timeout: timeout, bearer: bearers[endpoint])
            }
        case .infernet(let node, let container):
            return try await infernet.client(for: node).run(container: container, data: body)
        }
    }

    private func post(_ request: JSONValue, to url: String, timeout: Duration, bearer: String?)
        async throws(InferenceError) -> JSONValue
    {
        var http = HTTPClientRequest(url: url)
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/json")
        if let bearer { http.headers.add(name: "Authorization", value: "Bearer " + bearer) }
        let body: [UInt8]
        do { body = try request.canonicalBytes() } catch {
            throw InferenceError(.badInput, error.message, cause: error)
        }
        http.body = .bytes(ByteBuffer(bytes: body))
        let bytes: [UInt8]
        let status: UInt
        let retryAfter: Duration?
        do {
            let response = try await self.http.execute(
                http,
                timeout: .nanoseconds(
                    Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
                )
            )
            status = response.status.code
            retryAfter = Backoff.retryAfter(response.headers.first(name: "Retry-After"))
            bytes = Array(buffer: try await response.body.collect(upTo: maxResponseBytes))
        } catch let error as HTTPClientError
            where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        {
            throw InferenceError(.timeout, "no answer within \(timeout)")
        } catch {
            throw InferenceError(.transport, "\(error)", cause: error)
        }
        let json: JSONValue
        do { json = try JSONValue.parse(bytes: bytes) } catch {
            throw InferenceError(
                status == 200 ? .badResponse : .transport,
                "HTTP \(status), body is not JSON",
                status: status == 200 ? nil : status,
                cause: error
            )
        }
        guard status == 200 else {
            let message = json["error"]?["message"]?.stringValue ?? "no error message"
            var error = InferenceError(.transport, "HTTP \(status): \(message)", retryAfter: retryAfter, status: status)
            error.nodeMessage = message
            throw error
        }
        return json
    }
}

extension NodeClient {
    /// Whether the node at `endpoint` answers, in words: a Kiln node's `GET /v1/health` ("ok (operator 0x…)"), an
    /// Infernet node's `GET /info` (version, containers, pending jobs, whether Kiln's container is offered);
    /// `nil` when it does not answer in time.
    public func health(_ endpoint: NodeEndpoint, timeout: Duration) async -> String? {
        switch endpoint {
        case .kiln(let url): return await health(url, timeout: timeout)
        case .infernet(let node, let container):
            let client = infernet.client(for: node)
            return try? await withDeadline(timeout, expired: { InferenceError(.timeout, "no answer") }) {
                () async throws(InferenceError) -> String in
                try await client.describe(container: container)
            }
        }
    }

    /// `GET /v1/health`: "ok (operator 0x…)" or `nil` when the node does not answer in time.
    public func health(_ endpoint: String, timeout: Duration) async -> String? {
        do {
            let response = try await http.execute(
                HTTPClientRequest(url: endpoint + "/v1/health"),
                timeout: .seconds(timeout.components.seconds)
            )
            let json = try JSONValue.parse(bytes: Array(buffer: try await response.body.collect(upTo: 1 << 16)))
            guard response.status == .ok, let status = json["status"]?.stringValue else { return nil }
            return "\(status) (operator \(json["operator"]?.stringValue ?? "?"))"
        } catch {
            return nil
        }
    }
}

/// One ``InfernetClient`` per Infernet node URL, shared by copies of a ``NodeClient``.
final class InfernetClients: Sendable {
    private let http: HTTPClient
    private let clients = Mutex<[String: InfernetClient]>([:])

    init(http: HTTPClient) { self.http = http }

    func client(for node: String) -> InfernetClient {
        clients.withLock { clients in
            if let client = clients[node] { return client }
            let client = InfernetClient(node: node, http: http)
            clients[node] = client
            return client
        }
    }
}
