// Kiln — Apache-2.0. See LICENSE.

internal import AsyncHTTPClient
internal import Foundation
internal import NIOCore
internal import NIOHTTP1
public import KilnCore

/// A model served by another HTTP server (a GPU container, say): the node POSTs the canonical JSON input to
/// `url` and hashes and signs the bytes it gets back. Those bytes must be deterministic for the node's
/// answers to agree with other operators'.
public struct UpstreamModel: InferenceModel {
    public let id: String
    public let url: String
    public let maxBytes: Int
    public let timeout: Duration
    public var summary: String { "forwarded to \(url)" }

    public init(id: String, url: String, maxBytes: Int = 16 << 20, timeout: Duration = .seconds(60)) {
        self.id = id
        self.url = url
        self.maxBytes = maxBytes
        self.timeout = timeout
    }

    public func run(input: JSONValue) async throws(InferenceError) -> [UInt8] {
        do {
            var request = HTTPClientRequest(url: url)
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(bytes: try input.canonicalBytes()))
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeout.components.seconds))
            guard response.status == .ok else {
                throw InferenceError(.modelFailed, "upstream \(url) answered HTTP \(response.status.code)")
            }
            let body = try await response.body.collect(upTo: maxBytes)
            return Array(buffer: body)
        } catch let error as InferenceError {
            throw error
        } catch {
            throw InferenceError(.modelFailed, "upstream \(url): \(error)", cause: error)
        }
    }
}
