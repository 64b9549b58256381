// Kiln — Apache-2.0. See LICENSE.

public import AsyncHTTPClient
internal import BigInt
internal import Foundation
public import KilnCore
internal import NIOCore
internal import NIOHTTP1

/// What went wrong talking to a node: the transport, the node's own JSON-RPC error, or an answer that is not
/// what the method returns.
public struct ChainError: CausedError, CodedError, Sendable {
    /// What kind of failure this is: a struct over a private enum, so new codes don't break clients.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Wrapped: Hashable, Sendable {
            case transport, malformed
            case rpc(Int)
        }
        private let wrapped: Wrapped
        private init(_ wrapped: Wrapped) { self.wrapped = wrapped }

        /// Connection refused, timeout, HTTP 429 or 5xx: worth retrying.
        public static let transport = Code(.transport)
        /// The answer is not JSON-RPC, has another id, or has the wrong shape.
        public static let malformed = Code(.malformed)
        /// A JSON-RPC error object from the node, with its code.
        public static func rpc(_ code: Int) -> Code { Code(.rpc(code)) }

        /// The node's JSON-RPC error code, for ``rpc(_:)``.
        public var rpcCode: Int? {
            if case .rpc(let code) = wrapped { return code }
            return nil
        }

        /// The code's name (`rpc(-32000)` with its number).
        public var description: String { String(describing: wrapped) }
    }

    /// What kind of failure this is.
    public var code: Code
    /// What failed: the method and the node's or transport's reason.
    public var message: String
    /// The underlying error (the HTTP client's), kept rather than flattened.
    public var cause: (any Error)?
    /// Where in Kiln's source the error was raised: `#fileID:#line`.
    public var location: String
    /// How long the node asked to wait before trying again (its HTTP 429's `Retry-After`).
    public var retryAfter: Duration?
    /// What a call that reverted returned (a custom error's selector and arguments, `Error(string)`, …), when the
    /// node sent it: geth and most nodes put it, hex, in the JSON-RPC error's `data` (code 3, "execution reverted").
    public var revertData: [UInt8]?

    /// Whether the node said the call reverted: with its data, as JSON-RPC error 3 (geth's code for a revert), or
    /// only in words ("execution reverted", which some nodes send with -32000 and no data).
    public var isRevert: Bool {
        revertData != nil || code == .rpc(3) || message.contains("execution reverted")
    }

    /// An error with a code, a message and, optionally, its cause.
    public init(_ code: Code, _ message: String, cause: (any Error)? = nil, file: String = #fileID, line: Int = #line) {
        self.code = code
        self.message = message
        self.cause = cause
        location = "\(file):\(line)"
    }

    /// The message.
    public var description: String { message }
    /// The code's name.
    public var codeName: String { code.description }
}

/// JSON-RPC 2.0 over HTTP (async-http-client): one call or a batch, with a timeout per request, retries with
/// backoff on transport errors and HTTP 429/5xx, and bounded answers (a hostile node gets an error, never a
/// crash or an unbounded allocation).
public struct JSONRPCClient: Sendable {
    public let url: String
    public var timeout: Duration = .seconds(20)
    public var retries = 3
    public var maxResponseBytes = 64 << 20
    private let http: HTTPClient

    public init(url: String, http: HTTPClient = JSONRPCClient.sharedHTTP) {
        self.url = url
        self.http = http
    }

    /// The HTTP client JSON-RPC calls use unless given one: async-http-client's shared client, except that a
    /// connection the node refuses fails at once instead of being tried again until the request's deadline (with
    /// nothing listening, a call took `timeout` × (`retries` + 1) — 80 s — to fail). The retries with backoff
    /// above still cover a node that is restarting.
    public static let sharedHTTP: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// Calls `method` and returns its `result`.
    public func call(_ method: String, _ params: [JSONValue] = []) async throws(ChainError) -> JSONValue {
        let answer = try await send(
            .object(["jsonrpc": "2.0", "id": 1, "method": .string(method), "params": .array(params)])
        )
        return try Self.result(of: answer, id: 1, method: method)
    }

    /// Calls every `(method, params)` in one HTTP request; results in the same order.
    public func batch(_ calls: [(method: String, params: [JSONValue])]) async throws(ChainError) -> [JSONValue] {
        guard !calls.isEmpty else { return [] }
        let request = JSONValue.array(
            calls.enumerated().map { index, call in
                .object([
                    "jsonrpc": "2.0", "id": .number(index + 1), "method": .string(call.method),
                    "params": .array(call.params),
                ])
            }
        )
        return try Self.results(of: try await send(request), methods: calls.map(\.method), url: url)
    }

    /// The results of a batch's answer, in the order of `methods` (the calls were numbered 1, 2, … in that
    /// order); `url` names the node in errors.
    public static func results(of answer: JSONValue, methods: [String], url: String) throws(ChainError) -> [JSONValue] {
        guard case .array(let answers) = answer, answers.count == methods.count else {
            throw ChainError(
                .malformed,
                "\(url): a batch of \(methods.count) calls was not answered by an array of \(methods.count)"
            )
        }
        var byId: [BigInt: JSONValue] = [:]
        for answer in answers {
            guard let id = answer["id"]?.integerValue else {
                throw ChainError(.malformed, "\(url): a batch answer has no numeric id")
            }
            byId[id] = answer
        }
        var results: [JSONValue] = []
        for (index, method) in methods.enumerated() {
            guard let answer = byId[BigInt(index + 1)] else {
                throw ChainError(.malformed, "\(url): no answer for \(method) in the batch")
            }
            results.append(try Self.result(of: answer, id: index + 1, method: method))
        }
        return results
    }

    /// The result of one call's answer (`id` is the call's), or the node's error as ``ChainError``.
    public static func result(of answer: JSONValue, id: Int, method: String) throws(ChainError) -> JSONValue {
        guard case .object(let members) = answer, members["jsonrpc"]?.stringValue == "2.0" else {
            throw ChainError(.malformed, "\(method): the answer is not a JSON-RPC 2.0 object")
        }
        guard members["id"]?.integerValue == BigInt(id) else {
            throw ChainError(.malformed, "\(method): the answer has another id")
        }
        if let error = members["error"], error != .null {
            let code = error["code"]?.integerValue.flatMap { Int(exactly: $0) } ?? 0
            let message = error["message"]?.stringValue ?? "no message"
            var failure = ChainError(.rpc(code), "\(method): \(message) (JSON-RPC error \(code))")
            // `data` is the revert's hex (geth, erigon, anvil), or an object holding it under `data` (some others).
            if let text = error["data"]?.stringValue ?? error["data"]?["data"]?.stringValue, text.hasPrefix("0x") {
                failure.revertData = try? Hex.decode(text)
            }
            throw failure
        }
        guard let result = members["result"] else {
            throw ChainError(.malformed, "\(method): the answer has neither result nor error")
        }
        return result
    }

    private func send(_ body: JSONValue) async throws(ChainError) -> JSONValue {
        let bytes: [UInt8]
        do { bytes = try body.canonicalBytes() } catch {
            throw ChainError(.malformed, "unable to encode the request: \(error.message)", cause: error)
        }
        let backoff = Backoff(attempts: retries + 1, first: .milliseconds(200))
        var attempt = 0
        while true {
            do {
                return try await post(bytes)
            } catch  where error.code == .transport && attempt < retries {
                attempt += 1
                do { try await backoff.wait(retry: attempt, retryAfter: error.retryAfter) } catch {
                    throw ChainError(.transport, "\(url): cancelled while waiting to try again", cause: error)
                }
            }
        }
    }

    /// One request, bounded by ``timeout`` even when the HTTP client's own deadline is not honoured.
    private func post(_ body: [UInt8]) async throws(ChainError) -> JSONValue {
        try await withDeadline(
            timeout,
            expired: { [url, timeout] in ChainError(.transport, "\(url): no answer within \(timeout)") }
        ) {
            () async throws(ChainError) -> JSONValue in try await postOnce(body)
        }
    }

    private func postOnce(_ body: [UInt8]) async throws(ChainError) -> JSONValue {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(bytes: body))
        let status: UInt
        let bytes: [UInt8]
        let retryAfter: Duration?
        do {
            let seconds = timeout.components.seconds
            let response = try await http.execute(request, timeout: .seconds(seconds))
            status = response.status.code
            retryAfter = Backoff.retryAfter(response.headers.first(name: "Retry-After"))
            bytes = Array(buffer: try await response.body.collect(upTo: maxResponseBytes))
        } catch let error as NIOTooManyBytesError {
            _ = error
            throw ChainError(.malformed, "\(url): the answer is larger than \(maxResponseBytes) bytes")
        } catch {
            throw ChainError(.transport, "\(url): \(error)", cause: error)
        }
        if status == 429 || status >= 500 {
            var error = ChainError(.transport, "\(url): HTTP \(status)")
            error.retryAfter = retryAfter
            throw error
        }
        guard status == 200 else { throw ChainError(.malformed, "\(url): HTTP \(status)") }
        do { return try JSONValue.parse(bytes: bytes) } catch {
            throw ChainError(.malformed, "\(url): the answer is not JSON: \(error.message)", cause: error)
        }
    }
}
