// Kiln — Apache-2.0. See LICENSE.

internal import HTTPTypes
internal import Hummingbird
internal import KilnCore
internal import KilnStore
internal import Logging
internal import NIOCore
internal import NIOHTTP1
internal import NIOHTTPTypes
internal import NIOHTTPTypesHTTP1
internal import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `kiln serve`'s answers that are already in memory, written on the connection's NIO event loop by a handler in
/// the channel pipeline ahead of Hummingbird: Hummingbird hands each request to a Swift task and its answer back to
/// the event loop, thread hops that cost more CPU than a small answer itself (a 404 of Hummingbird's: 33 µs of CPU
/// on the benchmark machine; the same written from here: 16 µs). It sits right after NIO's request decoder
/// (``KilnHTTPChannel``) and writes bytes made once for each answer (``EncodedHead``, then the body): converting the
/// request to Swift HTTP Types and the answer back, then encoding its fields, cost a third of such an answer again.
///
/// Two kinds: the metadata API's answer (a token's `metadata.json` or image, or its 304) when ``LatestCache`` keeps
/// the token and ``BlockCache`` its file in one block (``LatestCache/TokenAnswer``, made once for each request target and
/// generation); and a gateway answer kept whole (``KeptAnswer``: everything under `/ipfs/` is named by hashes, so the
/// same request always has the same answer). Each is the routes' own, byte for byte (the same fields in the same
/// order, Hummingbird's `Date` and `Server` last), counted and timed as ``RequestMetrics`` does. A token's answer is
/// as fresh as the routes': it waits for a check of the store that started after it came — on SQLite one count on
/// this loop after the turn's reads, shared by the turn's requests (a WAL-mode read of one row on a connection that
/// never waits for a lock: a few microseconds, and cheaper than waking another thread); on PostgreSQL one count over
/// a connection of the loop's own, its answer coming back on the loop (``LoopPublicationCounting``), shared by the
/// requests read while it was asked for, and the next made for those read while it ran — holding the connection's
/// later requests meanwhile.
///
/// Anything else — another route, a method but GET, a query or `%`-escapes on the metadata API, a `Connection`
/// field but keep-alive, a token or file not kept, a failed check — goes on to Hummingbird unchanged, and answers
/// leave in the order requests came: while a request handed on is unanswered (``Ends``), the requests after it are
/// handed on.
final class HotPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    /// A request this handler may answer, waiting for its check.
    struct Request {
        let head: HTTPRequestHead
        let start: ContinuousClock.Instant
    }

    private let site: Site
    private let serverName: String
    private let logger: Logger
    /// Requests handed on whose answers have not ended.
    private var handedOn = 0
    /// The request waiting for its check, and the parts that came after it.
    private var waiting: Request?
    private var queue = CircularBuffer<HTTPServerRequestPart>()
    /// A read NIO asked for while the queue was full: done after.
    private var readHeld = false
    /// The rest of the request answered here (its body, its end) is dropped.
    private var dropping = false
    /// Whether parts were handed on since the pipeline last saw a read complete.
    private var handedSinceComplete = false
    /// A graceful shutdown's request to close once idle, held while a request waits here: Hummingbird's connection
    /// handler, after this one, does not know of it and would close the connection before its answer.
    private var quiesceHeld: Any?
    /// The check of the store on this connection's loop, made when first needed (nil: the store has none).
    private var loopCheck: LatestCache.Check??
    /// The request series of the answers written here, found when first needed.
    private var series: [Int: ServerMetrics.RequestSeries.Series] = [:]
    /// The `Date` and `Server` fields and the blank line that ends the fields, made once a second.
    private var tail: (second: Int, bytes: ByteBuffer) = (-1, ByteBuffer())

    init(site: Site, serverName: String, logger: Logger) {
        self.site = site
        self.serverName = serverName
        self.logger = logger
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        if waiting != nil {
            queue.append(part)
        } else {
            take(part, context: context)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        handedSinceComplete = false
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if waiting != nil, quiesceHeld == nil, event is ChannelShouldQuiesceEvent {
            quiesceHeld = event
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// Past this many parts waiting behind a request, reading stops until it is answered (a client that pipelines
    /// more than that waits for the socket). Below it reads go on: holding one changes the socket's poll interest.
    static let queueLimit = 64

    func read(context: ChannelHandlerContext) {
        if waiting != nil, queue.count >= Self.queueLimit { readHeld = true } else { context.read() }
    }

    /// Tells ``HotPath`` when Hummingbird has written the end of an answer: it sits above NIO's codecs, where answers
    /// are still parts (``KilnHTTPChannel``).
    final class Ends: ChannelOutboundHandler, RemovableChannelHandler {
        typealias OutboundIn = HTTPResponsePart
        typealias OutboundOut = HTTPResponsePart
        private let hotPath: HotPath

        init(_ hotPath: HotPath) { self.hotPath = hotPath }

        func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
            if case .end = unwrapOutboundIn(data) { hotPath.handedOn = max(0, hotPath.handedOn - 1) }
            context.write(data, promise: promise)
        }
    }

    private func take(_ part: HTTPServerRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            // A request whose `Connection` field says more than keep-alive (close, upgrade) is Hummingbird's.
            let mine = handedOn == 0 && head.version.major == 1 && Self.keepsAlive(head.headers)
            if mine, let key = KeptAnswer.key(head), let kept = site.answers.get(key) {
                dropping = true
                site.metrics.served(blocks: kept.blocks, bytes: kept.body.readableBytes)
                write(kept.head, kept.body, .ok, for: head, route: "/ipfs", since: .now, context: context)
            } else if mine, Self.mayAnswer(head), let loopCheck = check(on: context.eventLoop) {
                dropping = true
                let request = Request(head: head, start: .now)
                waiting = request
                check(request, loopCheck, context: context)
            } else {
                handOn(part, context: context)
            }
        case .body, .end:
            if dropping {
                if case .end = part { dropping = false }
            } else {
                context.fireChannelRead(wrapInboundOut(part))
                handedSinceComplete = true
            }
        }
    }

    private func handOn(_ head: HTTPServerRequestPart, context: ChannelHandlerContext) {
        dropping = false
        handedOn += 1
        handedSinceComplete = true
        context.fireChannelRead(wrapInboundOut(head))
    }

    /// This loop's check of the store, made once for the connection.
    private func check(on loop: any EventLoop) -> LatestCache.Check? {
        if let loopCheck { return loopCheck }
        let made = site.loopCheck(on: loop)
        loopCheck = .some(made)
        return made
    }

    /// Asks for the check that answers `request`, made on this event loop after the requests read in this turn,
    /// for all of them (``Site/loopCheck(on:)``).
    private func check(_ request: Request, _ check: @escaping LatestCache.Check, context: ChannelHandlerContext) {
        let bound = NIOLoopBound((self, context, request), eventLoop: context.eventLoop)
        site.mailboxes.mailbox(for: context.eventLoop).afterTurn(
            { result in
                let (handler, context, request) = bound.value
                handler.answer(request, result, context: context)
            },
            check: check
        )
    }

    private func answer(_ request: Request, _ result: Result<Int, StoreError>, context: ChannelHandlerContext) {
        waiting = nil
        if case .success(let generation) = result, let answer = tokenAnswer(request.head.uri, at: generation) {
            if let ifNoneMatch = Self.field(request.head.headers, "if-none-match"),
                Gateway.matches(ifNoneMatch, etag: answer.etag)
            {
                write(
                    answer.notModified,
                    nil,
                    .notModified,
                    for: request.head,
                    route: "/tokens",
                    since: request.start,
                    context: context
                )
            } else {
                site.metrics.served(blocks: 0, bytes: answer.body.readableBytes)
                write(
                    answer.ok,
                    answer.body,
                    .ok,
                    for: request.head,
                    route: "/tokens",
                    since: request.start,
                    context: context
                )
            }
        } else {
            handOn(.head(request.head), context: context)
        }
        while waiting == nil, let part = queue.popFirst() { take(part, context: context) }
        // Hummingbird's channel delivers what it read when a read completes.
        if handedSinceComplete { context.fireChannelReadComplete() }
        handedSinceComplete = false
        if waiting == nil, readHeld {
            readHeld = false
            context.read()
        }
        if waiting == nil, let event = quiesceHeld {
            quiesceHeld = nil
            context.fireUserInboundEventTriggered(event)
        }
    }

    /// The metadata API's answer to the request target `path` read at `generation`: kept, or made now and kept.
    private func tokenAnswer(_ path: String, at generation: Int) -> LatestCache.TokenAnswer? {
        if let kept = site.latestCache.answer(path, at: generation) { return kept }
        guard let (token, image) = Self.token(path, site: site),
            let made = site.tokenAnswer(token, image: image, kept: generation)
        else { return nil }
        site.latestCache.keep(made, for: path, at: generation)
        return made
    }

    /// Writes an answer as Hummingbird would (its `Date` and `Server` fields last), counted and timed as
    /// `RequestMetrics` counts and times one.
    private func write(
        _ head: EncodedHead,
        _ body: ByteBuffer?,
        _ status: HTTPResponse.Status,
        for request: HTTPRequestHead,
        route: String,
        since start: ContinuousClock.Instant,
        context: ChannelHandlerContext
    ) {
        // Counted before it is written, as the routes' answers are (a client that reads `/metrics` after it sees it).
        RequestMetrics<BasicRequestContext>.answered(
            .get,
            request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "",
            route: route,
            status: status,
            since: start,
            series: series(route: route, status: status),
            logger: logger
        )
        site.metrics.answerFromMemory()
        let tail = dateAndServer()
        // A small body goes in the same buffer (one piece for the socket); a larger one is not copied.
        let joined = (body?.readableBytes ?? 0) <= 4_096
        var bytes = context.channel.allocator.buffer(
            capacity: head.bytes.readableBytes + tail.readableBytes + (joined ? body?.readableBytes ?? 0 : 0)
        )
        bytes.writeImmutableBuffer(head.bytes)
        bytes.writeImmutableBuffer(tail)
        if joined, let body { bytes.writeImmutableBuffer(body) }
        if joined || body == nil {
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(bytes)), promise: nil)
        } else if let body {
            context.write(wrapOutboundOut(.byteBuffer(bytes)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(body)), promise: nil)
        }
    }

    private func series(route: String, status: HTTPResponse.Status) -> ServerMetrics.RequestSeries.Series {
        let key = Int(status.code) << 1 | (route == "/ipfs" ? 1 : 0)
        if let found = series[key] { return found }
        let found = site.metrics.series(route: route, status: Int(status.code))
        series[key] = found
        return found
    }

    /// Whether the request may be the metadata API's for a kept token: `GET /tokens/…` without a query or escapes.
    static func mayAnswer(_ head: HTTPRequestHead) -> Bool {
        head.method == .GET && head.uri.hasPrefix("/tokens/") && head.uri.utf8.count <= KilnServer.maxURILength
            && !head.uri.utf8.contains(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "%") })
    }

    /// The token and file of a metadata API path, `/tokens/{chainId}/{contract}/{id}[/image]`, of a served
    /// collection.
    static func token(_ path: String, site: Site) -> (TokenKey, image: Bool)? {
        let parts = path.utf8.dropFirst("/tokens/".utf8.count).split(
            separator: UInt8(ascii: "/"),
            omittingEmptySubsequences: false
        )
        guard parts.count == 3 || (parts.count == 4 && parts[3].elementsEqual("image".utf8)),
            let chainId = String(parts[0]), let contract = String(parts[1]), let id = String(parts[2]),
            let token = try? site.token(chainId: chainId, contract: contract, id: id)
        else { return nil }
        return (token, parts.count == 4)
    }

    /// A field's value as Swift HTTP Types gives it (the values of a field given more than once joined by `, `).
    static func field(_ headers: HTTPHeaders, _ name: String) -> String? {
        let values = headers[name]
        return values.isEmpty ? nil : values.joined(separator: ", ")
    }

    /// Whether a request's `Connection` field is absent or `keep-alive` (browsers and most HTTP/1.1 clients send it).
    static func keepsAlive(_ headers: HTTPHeaders) -> Bool {
        guard let connection = field(headers, "connection") else { return true }
        return connection.utf8.count == 10 && connection.lowercased() == "keep-alive"
    }

    /// `Date: …`, `Server: …` and the blank line, the date made once a second.
    private func dateAndServer() -> ByteBuffer {
        let now = time(nil)
        if now != tail.second {
            var bytes = ByteBuffer()
            bytes.writeString("Date: \(Self.httpDate(now))\r\nServer: \(serverName)\r\n\r\n")
            tail = (now, bytes)
        }
        return tail.bytes
    }

    /// The `Date` field's value (RFC 9110's IMF-fixdate, as Hummingbird writes it). By hand: Hummingbird's formatter
    /// (`DateCache`) is internal to it, and this toolchain's Foundation has no HTTP date style; `HotPathTests` checks
    /// it against a `DateFormatter`.
    static func httpDate(_ seconds: Int) -> String {
        var clock = time_t(seconds)
        var parts = tm()
        gmtime_r(&clock, &parts)
        let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        func two(_ value: Int32) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return
            "\(days[Int(parts.tm_wday)]), \(two(parts.tm_mday)) \(months[Int(parts.tm_mon)]) \(parts.tm_year + 1900) "
            + "\(two(parts.tm_hour)):\(two(parts.tm_min)):\(two(parts.tm_sec)) GMT"
    }
}

extension KeptAnswer {
    /// ``key(_:)`` of a request as NIO decoded it (its target is its path: `/ipfs/…` has no scheme).
    static func key(_ head: HTTPRequestHead) -> String? {
        key(get: head.method == .GET, path: head.uri) { HotPath.field(head.headers, $0.rawName) }
    }
}

/// An answer's status line and header fields as NIO's `HTTPResponseEncoder` writes them after Hummingbird's codec
/// has converted them (`HTTPResponseHead(_:)` of NIOHTTPTypesHTTP1): `HTTP/1.1 200 OK`, then `name: value` for
/// each field in order, each line ended by CRLF (`ByteBuffer.write(response:)` and `write(headers:)` in NIOHTTP1),
/// without the blank line that ends them — made once for an answer kept in memory. By hand because NIO's encoder
/// writes only into a channel; `HotPathTests` compares the bytes with Hummingbird's on the wire.
struct EncodedHead: Sendable {
    let bytes: ByteBuffer

    /// Nil where NIO's encoder would change the fields: a `200` must carry `Content-Length` (else the encoder adds
    /// `Transfer-Encoding`), and no answer here may carry `Transfer-Encoding`, nor a `304` a `Content-Length`.
    init?(_ status: HTTPResponse.Status, _ fields: HTTPFields) {
        guard fields[.transferEncoding] == nil,
            status == .notModified ? fields[.contentLength] == nil : fields[.contentLength] != nil
        else { return nil }
        let head = HTTPResponseHead(HTTPResponse(status: status, headerFields: fields))
        var bytes = ByteBuffer()
        bytes.writeString("HTTP/\(head.version.major).\(head.version.minor) \(head.status.code) ")
        bytes.writeString(head.status.reasonPhrase)
        bytes.writeString("\r\n")
        for (name, value) in head.headers {
            bytes.writeString(name)
            bytes.writeString(": ")
            bytes.writeString(value)
            bytes.writeString("\r\n")
        }
        self.bytes = bytes
    }
}

/// What one event loop's requests wait for: the requests read in one turn share one check of the store, made after
/// the last of them came and answered on the loop.
final class EventLoopMailbox: Sendable {
    private let loop: any EventLoop
    private let turn = Mutex(CheckQueue())

    init(loop: any EventLoop) { self.loop = loop }

    /// Calls `answer` (on the loop, from the loop) with what `check` reads once the loop has handled the reads of
    /// this turn — NIO runs tasks after a turn's I/O —: one check for every request read in the turn, made after
    /// the last of them came. `check` tells its answer on the loop, at once (SQLite) or when its query comes back
    /// (PostgreSQL); requests read meanwhile wait for the next check, made after that.
    func afterTurn(_ answer: @escaping LatestCache.Answer, check: @escaping LatestCache.Check) {
        loop.preconditionInEventLoop()
        if turn.withLock({ $0.join(answer) }) { loop.execute { self.checkTurn(check) } }
    }

    private func checkTurn(_ check: @escaping LatestCache.Check) {
        let cohort = turn.withLock { $0.cohort() }
        check { result in
            for answer in cohort { answer(result) }
            if self.turn.withLock({ $0.ended() }) { self.loop.execute { self.checkTurn(check) } }
        }
    }

    /// One mailbox per event loop, made when first asked for.
    final class Boxes: Sendable {
        private let boxes = Mutex<[ObjectIdentifier: EventLoopMailbox]>([:])

        func mailbox(for loop: any EventLoop) -> EventLoopMailbox {
            boxes.withLock { boxes in
                if let box = boxes[ObjectIdentifier(loop)] { return box }
                let box = EventLoopMailbox(loop: loop)
                boxes[ObjectIdentifier(loop)] = box
                return box
            }
        }
    }
}

extension Site {
    /// How an event loop checks the store without a task, its answer told on the loop (``HotPath``): a count on the
    /// calling thread (SQLite: ``PublicationCounting``) or over the loop's own connection (PostgreSQL:
    /// ``LoopPublicationCounting``), kept by ``LatestCache``; nil for a store that can do neither.
    func loopCheck(on loop: any EventLoop) -> LatestCache.Check? {
        let count: LatestCache.Check
        if let counting = store as? any PublicationCounting {
            count = { answer in
                do throws(StoreError) { answer(.success(try counting.countPublicationsNow())) } catch {
                    answer(.failure(error))
                }
            }
        } else if let counting = store as? any LoopPublicationCounting {
            count = { answer in
                counting.countPublications(on: loop).whenComplete { result in
                    answer(result.mapError { $0 as? StoreError ?? StoreError(.database, "\($0)", cause: $0) })
                }
            }
        } else {
            return nil
        }
        let cache = latestCache
        return { answer in
            count { result in
                if case .success(let generation) = result { cache.observe(generation) }
                answer(result)
            }
        }
    }
}
