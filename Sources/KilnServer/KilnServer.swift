// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
public import Hummingbird
internal import HummingbirdCore
internal import KilnContent
internal import KilnCore
internal import KilnPipeline
internal import KilnStore
public import Logging
internal import NIOCore

/// `kiln serve` (Hummingbird 2): the IPFS gateway over the blockstore (`/ipfs/…`), the metadata API
/// (`/tokens/…`), the gallery (`/`, `/collections/…`), `/health` and `/metrics`. Read-only: no route writes.
public enum KilnServer {
    /// The longest request target accepted (longer: 414).
    public static let maxURILength = 8192

    /// Builds the application; `onListening` gets the bound port (useful with port 0).
    public static func application(
        site: Site,
        host: String,
        port: Int,
        logger: Logger,
        onListening: @escaping @Sendable (Int) async -> Void
    ) -> some ApplicationProtocol {
        let router = Router()
        router.add(middleware: RequestMetrics(metrics: site.metrics, logger: logger))
        let gateway = Gateway(
            reader: site.reader,
            metrics: site.metrics,
            maxAnswerBytes: site.maxAnswerBytes,
            answers: site.answers
        )
        router.get("/ipfs/**") { request, _ in await gateway.respond(request) }
        router.head("/ipfs/**") { request, _ in await gateway.respond(request) }

        router.get("/tokens/:chainId/:contract/:id") { request, context in
            await answer(json: true) { () throws(GatewayFailure) in
                try await site.tokenFile(
                    try site.token(context),
                    image: false,
                    ifNoneMatch: request.headers[.ifNoneMatch]
                )
            }
        }
        router.get("/tokens/:chainId/:contract/:id/image") { request, context in
            await answer(json: true) { () throws(GatewayFailure) in
                try await site.tokenFile(
                    try site.token(context),
                    image: true,
                    ifNoneMatch: request.headers[.ifNoneMatch]
                )
            }
        }
        router.get("/tokens/:chainId/:contract/:id/history") { _, context in
            await answer(json: true) { () throws(GatewayFailure) in try await site.history(try site.token(context)) }
        }

        router.get("/") { _, _ in await answer(json: false) { () throws(GatewayFailure) in try await site.indexPage() }
        }
        router.get("/collections/:chainId/:contract") { request, context in
            await answer(json: false) { () throws(GatewayFailure) in
                let collection = try site.collection(
                    chainId: context.parameters.get("chainId"),
                    contract: context.parameters.get("contract")
                )
                return try await site.collectionPage(
                    collection.contract,
                    after: request.uri.queryParameters.get("after"),
                    before: request.uri.queryParameters.get("before")
                )
            }
        }
        router.get("/collections/:chainId/:contract/:id") { _, context in
            await answer(json: false) { () throws(GatewayFailure) in
                try await site.tokenPage(try site.token(context), verify: false)
            }
        }
        router.get("/collections/:chainId/:contract/:id/verify") { _, context in
            await answer(json: false) { () throws(GatewayFailure) in
                try await site.tokenPage(try site.token(context), verify: true)
            }
        }

        router.get("/health") { _, _ -> Response in
            var health: [String: JSONValue] = [
                "status": "ok", "service": "kiln-serve", "version": .string(KilnVersion.current),
                "store": .string(site.store.location), "collections": .number(site.configuration.contracts.count),
            ]
            do { health["openBatch"] = try await site.store.currentBatch().map { .number($0) } ?? .null } catch {
                health["status"] = "degraded"
                health["store"] = .string("\(site.store.location): \(error)")
                return Site.json(.object(health), status: .serviceUnavailable)
            }
            return Site.json(.object(health))
        }
        router.get("/metrics") { _, _ -> Response in
            var disks = [(name: "out", path: site.configuration.out)]
            if !PostgresStore.isURL(site.configuration.store) {
                let folder = (site.configuration.store as NSString).deletingLastPathComponent
                disks.append((name: "store", path: folder.isEmpty ? "." : folder))
            }
            site.metrics.recordDisk(disks)
            var text = site.metrics.exposition()
            if let file = site.batchMetricsFile, let batch = try? String(contentsOfFile: file, encoding: .utf8) {
                text += batch
            }
            var headers = HTTPFields()
            headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
            return Response(status: .ok, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
        }
        let serverName = "kiln/\(KilnVersion.current)"
        // The event loops' count of the store (``HotPath``) opens its connection now, not on a loop.
        _ = try? (site.store as? any PublicationCounting)?.countPublicationsNow()
        return Application(
            router: router,
            server: HTTPServerBuilder { responder in
                KilnHTTPChannel(responder: responder) {
                    HotPath(site: site, serverName: serverName, logger: logger)
                }
            },
            configuration: .init(address: .hostname(host, port: port), serverName: serverName),
            onServerRunning: { channel in await onListening(channel.localAddress?.port ?? port) },
            logger: logger
        )
    }

    /// Runs a page or API handler and turns its failure into a JSON or HTML error answer.
    static func answer(json: Bool, _ handle: () async throws(GatewayFailure) -> Response) async -> Response {
        do { return try await handle() } catch {
            if json {
                var response = Site.json(
                    ["error": ["code": .number(Int(error.status.code)), "message": .string(error.message)]],
                    status: error.status
                )
                response.headers[.accessControlAllowOrigin] = "*"
                return response
            }
            return Site.page(error)
        }
    }
}

extension Site {
    func token(_ context: BasicRequestContext) throws(GatewayFailure) -> TokenKey {
        try token(
            chainId: context.parameters.get("chainId"),
            contract: context.parameters.get("contract"),
            id: context.parameters.get("id")
        )
    }
}

/// Counts every answer by route and status (`kiln_http_requests_total`), times it, refuses over-long request
/// targets and anything but GET and HEAD (the server is read-only), and logs one line per request at debug.
struct RequestMetrics<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws
        -> Response
    {
        let start = ContinuousClock.now
        let path = request.uri.path
        let route = Self.route(path)
        var response: Response
        if request.uri.description.utf8.count > KilnServer.maxURILength {
            response = Gateway.failure(
                GatewayFailure(.uriTooLong, "The request target is longer than \(KilnServer.maxURILength) bytes")
            )
        } else if request.method != .get && request.method != .head {
            response = Gateway.failure(GatewayFailure(.methodNotAllowed, "kiln serve is read-only: GET and HEAD only"))
            response.headers[.allow] = "GET, HEAD"
        } else {
            do { response = try await next(request, context) } catch {
                let status = (error as? any HTTPResponseError)?.status ?? .internalServerError
                if status == .internalServerError { logger.error("\(request.method) \(path): \(error)") }
                response = Gateway.failure(
                    GatewayFailure(status, status == .notFound ? "No such page" : "\(error)", cause: error)
                )
            }
        }
        Self.answered(
            request.method,
            path,
            route: route,
            status: response.status,
            since: start,
            series: metrics.series(route: route, status: Int(response.status.code)),
            logger: logger
        )
        return response
    }

    /// Counts and times one answer in the series of its route and status (``ServerMetrics/series(route:status:)``)
    /// and logs its line at debug — for the routes' answers and ``HotPath``'s alike.
    static func answered(
        _ method: HTTPRequest.Method,
        _ path: @autoclosure () -> String,
        route: String,
        status: HTTPResponse.Status,
        since start: ContinuousClock.Instant,
        series: ServerMetrics.RequestSeries.Series,
        logger: Logger
    ) {
        series.record(seconds: start.duration(to: .now).inSeconds)
        logger.debug("\(method) \(path()) → \(status.code)", metadata: ["route": "\(route)"])
    }

    /// The route's family, a bounded label.
    static func route(_ path: String) -> String {
        for prefix in ["/ipfs/", "/tokens/", "/collections/"] where path.hasPrefix(prefix) {
            return String(prefix.dropLast())
        }
        switch path {
        case "/", "/health", "/metrics": return path
        default: return "other"
        }
    }
}
