// Kiln — Apache-2.0. See LICENSE.

internal import Foundation
public import Hummingbird
internal import HTTPTypes
internal import KilnCore
public import NIOCore
internal import NIOHTTPTypes
internal import Synchronization

/// What a node facing the internet allows each client (by IP address), and how long a request may take to arrive.
public struct NodeLimits: Sendable, Hashable {
    /// Requests per second per IP address, on average (a token bucket).
    public var requestsPerSecond: Double = 50
    /// Requests an IP address may send at once before the average applies.
    public var burst: Int = 100
    /// Open connections per IP address; more are closed at once.
    public var connectionsPerIP: Int = 64
    /// Seconds from a connection's start (or its previous answer) until a request has fully arrived: head and
    /// body. A slower one (slowloris) gets 408 and the connection is closed.
    public var requestTimeout: Duration = .seconds(10)

    public init() {}
}

/// The request context of a node: Hummingbird's basic context plus the client's address (for rate limits).
public struct NodeRequestContext: RequestContext, RemoteAddressRequestContext {
    public var coreContext: CoreRequestContextStorage
    public let remoteAddress: SocketAddress?

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        remoteAddress = source.channel.remoteAddress
    }
}

/// A token bucket per IP address (at most `maxClients` remembered; the longest idle are forgotten first).
final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }
    private let limits: NodeLimits
    private let buckets = Mutex<[String: Bucket]>([:])
    private let maxClients = 100_000

    init(limits: NodeLimits) { self.limits = limits }

    /// Takes a token for `client`; false when it has none left.
    func admit(_ client: String, now: ContinuousClock.Instant = .now) -> Bool {
        buckets.withLock { buckets in
            let capacity = Double(limits.burst)
            var bucket = buckets[client] ?? Bucket(tokens: capacity, updated: now)
            let elapsed = (now - bucket.updated).inSeconds
            bucket.tokens = min(capacity, bucket.tokens + elapsed * limits.requestsPerSecond)
            bucket.updated = now
            let admitted = bucket.tokens >= 1
            if admitted { bucket.tokens -= 1 }
            if buckets.count >= maxClients, buckets[client] == nil {
                // Full: drop the clients whose buckets have refilled (idle for a whole burst) to make room.
                let idle = capacity / max(limits.requestsPerSecond, 0.001)
                buckets = buckets.filter { (now - $0.value.updated).inSeconds < idle }
            }
            buckets[client] = bucket
            return admitted
        }
    }
}

/// Answers 429 (`rate_limited`, `Retry-After`) to a client over its request rate; health checks included.
/// Counts every answer by route and status (``NodeMetrics``): the routes the node serves by name, anything else
/// as `other`, so a scanner cannot grow the series.
struct NodeMetricsMiddleware: RouterMiddleware {
    typealias Context = NodeRequestContext
    let metrics: NodeMetrics
    static let routes: Set<String> = [
        "/v1/jobs", "/v1/agreements", "/v1/health", "/v1/models", "/service_output", "/service-resources", "/",
        "/metrics",
    ]

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let route = Self.routes.contains(request.uri.path) ? request.uri.path : "other"
        do {
            let response = try await next(request, context)
            metrics.request(route: route, status: response.status.code)
            return response
        } catch let error as any HTTPResponseError {
            metrics.request(route: route, status: error.status.code)
            throw error
        } catch {
            metrics.request(route: route, status: 500)
            throw error
        }
    }
}

struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = NodeRequestContext
    let limiter: RateLimiter

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response)
        async throws -> Response
    {
        let client = context.remoteAddress?.ipAddress ?? "unknown"
        guard limiter.admit(client) else {
            var response = NodeServer.failure(
                .tooManyRequests,
                "rate_limited",
                "too many requests from \(client): at most \(limiter.description) (kiln node serve --rate-limit)"
            )
            response.headers[.retryAfter] = "1"
            return response
        }
        return try await next(request, context)
    }
}

extension RateLimiter: CustomStringConvertible {
    var description: String { "\(limits.requestsPerSecond.formatted()) requests/s, bursts of \(limits.burst)" }
}

/// Open connections per IP address, shared by every connection's ``ConnectionGuard``.
final class ConnectionTable: Sendable {
    private let counts = Mutex<[String: Int]>([:])
    let limit: Int

    init(limit: Int) { self.limit = limit }

    /// Counts a new connection from `client`; false (not counted) when it already has `limit` open.
    func open(_ client: String) -> Bool {
        counts.withLock { counts in
            guard counts[client, default: 0] < limit else { return false }
            counts[client, default: 0] += 1
            return true
        }
    }

    func close(_ client: String) {
        counts.withLock { counts in
            let left = counts[client, default: 1] - 1
            counts[client] = left > 0 ? left : nil
        }
    }
}

/// One per connection, after HTTP decoding: closes a connection over its IP's connection limit, and answers 408
/// and closes when a request has not fully arrived within the request timeout (slow headers or a slow body).
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let table: ConnectionTable
    private let timeout: TimeAmount
    private var client: String?
    private var deadline: Scheduled<Void>?
    /// A request's head arrived and its end has not (the body is on its way).
    private var receiving = false
    /// Requests received whole and not yet answered (a client may pipeline): no deadline runs while any is.
    private var unanswered = 0

    private let onTimeout: @Sendable () -> Void

    init(table: ConnectionTable, timeout: Duration, onTimeout: @escaping @Sendable () -> Void = {}) {
        self.table = table
        self.timeout = TimeAmount(timeout)
        self.onTimeout = onTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard client == nil else { return }
        let address = context.channel.remoteAddress?.ipAddress ?? "unknown"
        guard table.open(address) else {
            client = ""
            context.close(promise: nil)
            return
        }
        client = address
        arm(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        deadline?.cancel()
        if let client, !client.isEmpty { table.close(client) }
        client = ""
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: receiving = true
        case .body: break
        case .end:
            receiving = false
            unanswered += 1
            deadline?.cancel()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            if unanswered > 0 {
                unanswered -= 1
                // The next request's time starts now (unless it is already partly here, on the running deadline).
                if unanswered == 0 && !receiving { arm(context: context) }
            } else {
                // Answered before the request was whole (413, 401): no 408 after it; the connection closes or idles.
                deadline?.cancel()
            }
        }
        context.write(data, promise: promise)
    }

    private func arm(context: ChannelHandlerContext) {
        deadline?.cancel()
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = loopBound.value
            handler.expired(context: context)
        }
    }

    private func expired(context: ChannelHandlerContext) {
        guard unanswered == 0 else { return }
        onTimeout()
        // 408 (RFC 9110 §15.5.9), then close: the client may send its request again on a new connection.
        let body = ByteBuffer(
            string: #"{"error":{"code":"request_timeout","message":"the request did not arrive in time"}}"#
        )
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        fields[.contentLength] = String(body.readableBytes)
        fields[.connection] = "close"
        context.write(wrapOutboundOut(.head(HTTPResponse(status: .requestTimeout, headerFields: fields))), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
