// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
public import Hummingbird
internal import KilnCore
internal import BigInt
public import Logging

/// The node's HTTP API (Hummingbird 2): `POST /v1/jobs` (commit), `POST /v1/agreements` (the agreement phase),
/// `GET /v1/health`, `GET /v1/models`. JSON in and out;
/// every error is a JSON body `{"error": {"code": …, "message": …}}` with a fitting status.
///
/// The same node is also a Ritual Infernet compute container: `POST /service_output`, `GET /service-resources`,
/// `GET /` (see ``InfernetContainer``).
public enum NodeServer {
    /// Builds the application; `onListening` gets the bound port (useful with port 0).
    /// `GET /metrics` (``NodeMetrics``) is served here unless `metricsOnOwnPort` (`kiln node serve --metrics-port`
    /// then serves ``NodeMetrics/exposition(node:)`` on a port of its own).
    public static func application(
        node: InferenceNode,
        host: String,
        port: Int,
        metrics: NodeMetrics = NodeMetrics(),
        metricsOnOwnPort: Bool = false,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router(context: NodeRequestContext.self)
        let configuration = node.configuration
        // First, so it sees every answer, the rate limiter's 429s included.
        router.add(middleware: NodeMetricsMiddleware(metrics: metrics))
        router.add(middleware: RateLimitMiddleware(limiter: RateLimiter(limits: configuration.limits)))
        if !metricsOnOwnPort {
            router.get("/metrics") { _, _ in await metricsResponse(node: node, metrics: metrics) }
        }
        router.get("/v1/health") { _, _ in
            json(
                .ok,
                [
                    "status": "ok", "operator": .string(node.operatorAddress.checksummed),
                    "version": .string(KilnVersion.current),
                    "models": .array(configuration.models.map { .string($0.id) }),
                    "chainId": configuration.domain.chainId.map { .integer(.init($0)) } ?? .null,
                    "verifyingContract": configuration.domain.verifyingContract.map { .string($0.checksummed) }
                        ?? .null,
                ]
            )
        }
        router.get("/v1/models") { _, _ in
            json(
                .ok,
                [
                    "models": .array(
                        configuration.models.map {
                            [
                                "id": .string($0.id), "modelId": .string($0.modelHash.hex),
                                "summary": .string($0.summary),
                            ]
                        }
                    )
                ]
            )
        }
        router.post("/v1/jobs") { request, _ -> Response in
            await serve(
                request,
                limit: configuration.maxRequestBytes,
                configuration: configuration,
                metrics: metrics,
                logger: logger,
                what: "job"
            ) {
                value throws(InferenceNode.Failure) in
                let job: JobRequest
                do throws(InferenceError) { job = try JobRequest(json: value) } catch {
                    throw .badRequest(error.message)
                }
                return (job.jobId, try await node.handle(job).json)
            }
        }
        router.post("/v1/agreements") { request, _ -> Response in
            // The canonical output travels in base64: up to the largest output a model may give.
            let limit = configuration.maxOutputBytes / 3 * 4 + 64 * 1024
            return await serve(
                request,
                limit: limit,
                configuration: configuration,
                metrics: metrics,
                logger: logger,
                what: "agreement"
            ) {
                value throws(InferenceNode.Failure) in
                let agreement: AgreementRequest
                do throws(InferenceError) { agreement = try AgreementRequest(json: value) } catch {
                    throw .badRequest(error.message)
                }
                return (agreement.jobId, try await node.agree(agreement).json)
            }
        }
        router.post("/service_output") { request, _ -> Response in
            await serveInfernet(request, node: node, logger: logger)
        }
        router.get("/service-resources") { request, _ -> Response in
            json(
                .ok,
                InfernetContainer.resources(
                    models: configuration.models,
                    modelId: request.uri.queryParameters.get("model_id")
                )
            )
        }
        router.get("/") { _, _ -> Response in
            json(
                .ok,
                [
                    "service": "kiln-node", "version": .string(KilnVersion.current),
                    "operator": .string(node.operatorAddress.checksummed),
                    "models": .array(configuration.models.map { .string($0.id) }),
                    "protocols": [
                        "kiln": "POST /v1/jobs, POST /v1/agreements, GET /v1/health, GET /v1/models",
                        "infernet": "POST /service_output, GET /service-resources",
                    ],
                ]
            )
        }
        // Every connection: at most `connectionsPerIP` from one address, a request in `requestTimeout` (else 408),
        // and closed after a minute without a byte.
        let connections = ConnectionTable(limit: configuration.limits.connectionsPerIP)
        let requestTimeout = configuration.limits.requestTimeout
        return Application(
            router: router,
            server: .http1(
                configuration: .init(
                    additionalChannelHandlers: [
                        ConnectionGuard(table: connections, timeout: requestTimeout) { metrics.requestTimedOut() }
                    ],
                    idleTimeout: .seconds(60)
                )
            ),
            // A deep accept queue (the kernel caps it at net.core.somaxconn): under a burst of connections the
            // ones past it wait for the client's SYN retry, seconds later.
            configuration: .init(
                address: .hostname(host, port: port),
                serverName: "kiln-node/\(KilnVersion.current)",
                backlog: 4096
            ),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    static func metricsResponse(node: InferenceNode, metrics: NodeMetrics) async -> Response {
        let text = await metrics.exposition(node: node)
        var response = Response(status: .ok, body: .init(byteBuffer: ByteBuffer(string: text)))
        response.headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
        return response
    }

    /// Reads a JSON body (bounded), runs `handle` and maps its failure to a status and a JSON error; logs one line
    /// and counts the job or agreement.
    static func serve(
        _ request: Request,
        limit: Int,
        configuration: NodeConfiguration,
        metrics: NodeMetrics,
        logger: Logger,
        what: String,
        _ handle: (JSONValue) async throws(InferenceNode.Failure) -> (Bytes32, JSONValue)
    ) async -> Response {
        let started = ContinuousClock.now
        if let token = configuration.authToken,
            !constantTimeEqual(Array((request.headers[.authorization] ?? "").utf8), Array("Bearer \(token)".utf8))
        {
            log(what, job: "?", outcome: "unauthorized", since: started, logger: logger)
            return failure(
                .unauthorized,
                "unauthorized",
                "this node needs Authorization: Bearer with its token (operators.yml 'token' on the coordinator)"
            )
        }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: limit)
        } catch {
            return failure(.contentTooLarge, "too_large", "the request body exceeds \(limit) bytes")
        }
        let value: JSONValue
        do { value = try JSONValue.parse(bytes: Array(buffer: body)) } catch {
            return failure(.badRequest, "invalid_json", error.message)
        }
        let response: Response
        var outcome = "ok"
        var job = "?"
        do throws(InferenceNode.Failure) {
            let (id, answer) = try await handle(value)
            job = "\(id.hex.prefix(18))…"
            response = json(.ok, answer)
        } catch {
            let (status, code, message) = describe(error, configuration: configuration)
            (response, outcome) = (failure(status, code, message), code)
        }
        log(what, job: job, outcome: outcome, since: started, logger: logger)
        if what == "job" {
            // A configured model's id, never a client's string: the series stay bounded.
            let asked = value["modelId"]?.stringValue
            let model = configuration.models.first { $0.id == asked }?.id ?? "unknown"
            let elapsed = ContinuousClock.now - started
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
            metrics.job(model: model, outcome: outcome, seconds: seconds)
        } else {
            metrics.agreement(outcome: outcome)
        }
        return response
    }

    /// The one line each request logs: what, which job, its outcome and milliseconds.
    static func log(
        _ what: String,
        job: String,
        outcome: String,
        since started: ContinuousClock.Instant,
        logger: Logger
    ) {
        let elapsed = ContinuousClock.now - started
        logger.info(
            "\(what)",
            metadata: [
                "job": "\(job)", "outcome": "\(outcome)",
                "ms": "\(elapsed.components.seconds * 1000 + elapsed.components.attoseconds / 1_000_000_000_000_000)",
            ]
        )
    }

    /// `POST /service_output` (Infernet's container protocol, see ``InfernetContainer``): every answer is JSON,
    /// errors as `{"code": "<status>", "name", "description"}` with that HTTP status.
    static func serveInfernet(_ request: Request, node: InferenceNode, logger: Logger) async -> Response {
        let configuration = node.configuration
        let started = ContinuousClock.now
        func refuse(_ status: HTTPResponse.Status, _ name: String, _ description: String) -> Response {
            json(status, InfernetContainer.error(status: status.code, name: name, description: description))
        }
        if let bearer = configuration.infernetBearer,
            !constantTimeEqual(Array((request.headers[.authorization] ?? "").utf8), Array("Bearer \(bearer)".utf8))
        {
            return refuse(
                .unauthorized,
                "unauthorized",
                "this container needs Authorization: Bearer with the token in its config.json entry ('bearer')"
            )
        }
        // Room for the largest body either phase takes: an on-chain job is hex of ABI-encoded JSON (× 2 + words);
        // an agreement carries the canonical output in base64.
        let limit = max(configuration.maxRequestBytes * 2 + 1024, configuration.maxOutputBytes / 3 * 4 + 64 * 1024)
        let body: ByteBuffer
        do { body = try await request.body.collect(upTo: limit) } catch {
            return refuse(.contentTooLarge, "too_large", "the request body exceeds \(limit) bytes")
        }
        let value: JSONValue
        do { value = try JSONValue.parse(bytes: Array(buffer: body)) } catch {
            return refuse(.badRequest, "invalid_json", error.message)
        }
        let container: InfernetContainer.Request
        do throws(InferenceError) { container = try InfernetContainer.Request(json: value) } catch {
            return refuse(.unprocessableContent, "invalid_request", error.message)
        }
        var outcome = "ok"
        let response: Response
        do throws(InferenceNode.Failure) {
            let answer: JSONValue
            switch container.work {
            case .job(let request): answer = try await node.handle(request).json
            case .agreement(let request): answer = try await node.agree(request).json
            }
            response = json(.ok, InfernetContainer.answer(container, response: answer))
        } catch {
            let (status, code, message) = describe(error, configuration: configuration)
            outcome = code
            response = json(status, InfernetContainer.error(status: status.code, name: code, description: message))
        }
        log(
            "infernet \(container.destination == .onchain ? "on-chain " : "")\(container.work.isAgreement ? "agreement" : "job")",
            job: "\(container.work.jobId.hex.prefix(18))…",
            outcome: outcome,
            since: started,
            logger: logger
        )
        return response
    }

    /// A failure's HTTP status, error code and message.
    static func describe(_ error: InferenceNode.Failure, configuration: NodeConfiguration) -> (
        HTTPResponse.Status, String, String
    ) {
        switch error {
        case .badRequest(let message): (.unprocessableContent, "invalid_request", message)
        case .unknownModel(let name):
            (
                .notFound, "unknown_model",
                "unknown model '\(name)' (this node serves \(configuration.models.map(\.id).joined(separator: ", ")))"
            )
        case .busy: (.tooManyRequests, "busy", "all job slots and the queue are full; retry later")
        case .timeout: (.gatewayTimeout, "timeout", "the job did not finish in time")
        case .modelFailed(let message): (.internalServerError, "model_failed", message)
        case .injected: (.internalServerError, "test_fault", "--test-fault http-500")
        case .noCommit(let message): (.notFound, "no_commit", message)
        case .outOfTolerance(let message): (.conflict, "out_of_tolerance", message)
        }
    }

    static func json(_ status: HTTPResponse.Status, _ value: JSONValue) -> Response {
        let bytes = (try? value.canonicalBytes()) ?? Array("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: bytes))
        )
    }

    static func failure(_ status: HTTPResponse.Status, _ code: String, _ message: String) -> Response {
        var response = json(status, ["error": ["code": .string(code), "message": .string(message)]])
        // Busy: when to come back (clients back off with jitter around it).
        if status == .tooManyRequests { response.headers[.retryAfter] = "1" }
        return response
    }
}

/// Whether two byte strings are equal, in time that depends only on their lengths (for secrets).
func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    var difference: UInt8 = 0
    for (x, y) in zip(a, b) { difference |= x ^ y }
    return difference == 0
}
