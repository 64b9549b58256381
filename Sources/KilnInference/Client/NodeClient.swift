// Kiln — Apache-2.0. See LICENSE.

public import AsyncHTTPClient
internal import Foundation
internal import NIOCore
internal import NIOHTTP1
internal import KilnCore

/// Talks to one inference node over HTTP.
public struct NodeClient: Sendable {
    public let http: HTTPClient
    /// Largest response accepted (the output is inside, base64).
    public var maxResponseBytes = 32 << 20

    public init(http: HTTPClient = .shared) { self.http = http }

    /// Sends `request` to the node at `endpoint` (e.g. `http://127.0.0.1:8101`).
    /// - Throws: ``InferenceError`` — `.timeout`, `.transport` (unreachable or HTTP error, with the node's
    ///   error message when it sent one) or `.badResponse`.
    public func submit(_ request: JobRequest, to endpoint: String, timeout: Duration) async throws(InferenceError)
        -> JobResponse
    {
        try await withDeadline(timeout, expired: { InferenceError(.timeout, "no answer within \(timeout)") }) {
            () async throws(InferenceError) -> JobResponse in
            try JobResponse(json: try await post(request.json, to: endpoint + "/v1/jobs", timeout: timeout))
        }
    }

    /// Sends the agreement phase's `request` to the node at `endpoint` (`POST /v1/agreements`).
    /// - Throws: ``InferenceError`` as ``submit(_:to:timeout:)``; a refusal (HTTP 409, out of tolerance) is
    ///   `.transport` with the node's message.
    public func agree(_ request: AgreementRequest, to endpoint: String, timeout: Duration) async throws(InferenceError)
        -> AgreementResponse
    {
        try await withDeadline(timeout, expired: { InferenceError(.timeout, "no answer within \(timeout)") }) {
            () async throws(InferenceError) -> AgreementResponse in
            try AgreementResponse(json: try await post(request.json, to: endpoint + "/v1/agreements", timeout: timeout))
        }
    }

    private func post(_ request: JSONValue, to url: String, timeout: Duration) async throws(InferenceError) -> JSONValue
    {
        var http = HTTPClientRequest(url: url)
        http.method = .POST
        http.headers.add(name: "Content-Type", value: "application/json")
        let body: [UInt8]
        do { body = try request.canonicalBytes() } catch { throw InferenceError(.badInput, error.message) }
        http.body = .bytes(ByteBuffer(bytes: body))
        let bytes: [UInt8]
        let status: UInt
        do {
            let response = try await self.http.execute(
                http,
                timeout: .nanoseconds(
                    Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000
                )
            )
            status = response.status.code
            bytes = Array(buffer: try await response.body.collect(upTo: maxResponseBytes))
        } catch let error as HTTPClientError
            where error == .deadlineExceeded || error == .readTimeout || error == .connectTimeout
        {
            throw InferenceError(.timeout, "no answer within \(timeout)")
        } catch {
            throw InferenceError(.transport, "\(error)")
        }
        let json: JSONValue
        do { json = try JSONValue.parse(bytes: bytes) } catch {
            throw InferenceError(status == 200 ? .badResponse : .transport, "HTTP \(status), body is not JSON")
        }
        guard status == 200 else {
            let message = json["error"]?["message"]?.stringValue ?? "no error message"
            throw InferenceError(.transport, "HTTP \(status): \(message)")
        }
        return json
    }
}

extension NodeClient {
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
