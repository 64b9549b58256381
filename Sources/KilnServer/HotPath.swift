// Kiln — Apache-2.0. See LICENSE.

internal import HTTPTypes
internal import Hummingbird
internal import KilnCore
internal import KilnStore
internal import Logging
internal import NIOCore
internal import NIOHTTPTypes
internal import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// `kiln serve`'s answers that are already in memory, written on the connection's NIO event loop by a handler in
/// the channel pipeline ahead of Hummingbird: Hummingbird hands each request to a Swift task and its answer back to
/// the event loop, thread hops that cost more CPU than a small answer itself (a 404 of Hummingbird's: 33 µs of CPU
/// on the benchmark machine; the same written from here: 16 µs).
///
/// Two kinds: the metadata API's answer (a token's `metadata.json` or image, or its 304) when ``LatestCache`` keeps
/// the token and ``BlockCache`` its file in one block; and a gateway answer kept whole (``KeptAnswer``: everything
/// under `/ipfs/` is named by hashes, so the same request always has the same answer). Each is the routes' own,
/// byte for byte (``Site/tokenFile(_:image:ifNoneMatch:kept:)``, the same fields in the same order, Hummingbird's
/// `Date` and `Server` last), counted and timed as ``RequestMetrics`` does. A token's answer is as fresh as the
/// routes': it waits for a check of the store that started after it came — on SQLite one count on this loop after
/// the turn's reads, shared by the turn's requests (a WAL-mode read of one row on a connection that never waits for
/// a lock: a few microseconds, and cheaper than waking another thread); on PostgreSQL one count over a connection
/// of the loop's own, its answer coming back on the loop (``LoopPublicationCounting``), shared by the requests read
/// while it was asked for, and the next made for those read while it ran — holding the connection's later requests
/// meanwhile.
///
/// Anything else — another route, a method but GET, a query or `%`-escapes on the metadata API, a `Connection`
/// field but keep-alive, a token or file not kept, a failed check — goes on to Hummingbird unchanged, and answers
/// leave in the order requests came: while a request handed on is unanswered, the requests after it are handed on.
final class HotPath: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    /// A request this handler may answer.
    struct Request {
        let head: HTTPRequest
        let token: TokenKey
        let image: Bool
        let start: ContinuousClock.Instant
    }

    private let site: Site
    private let serverName: String
    private let logger: Logger
    /// Requests handed on whose answers have not ended.
    private var handedOn = 0
    /// The request waiting for its check, and the parts that came after it.
    private var waiting: Request?
    private var queue = CircularBuffer<HTTPRequestPart>()
    /// A read NIO asked for while the queue was full: done after.
    private var readHeld = false
    /// The rest of the request answered here (its body, its end) is dropped.
    private var dropping = false
    /// Whether parts were handed on since the pipeline last saw a read complete.
    private var handedSinceComplete = false
    /// A graceful shutdown's request to close once idle, held while a request waits here: Hummingbird's connection
    /// handler, after this one, does not know of it and would close the connection before its answer.
    private var quiesceHeld: Any?
    private var date: (second: Int, text: String) = (-1, "")

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

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        // Only Hummingbird's answers pass here (this handler's own start past it).
        if case .end = unwrapOutboundIn(data) { handedOn = max(0, handedOn - 1) }
        context.write(data, promise: promise)
    }

    private func take(_ part: HTTPRequestPart, context: ChannelHandlerContext) {
        switch part {
        case .head(let head):
            // A request whose `Connection` field says more than keep-alive (close, upgrade) is Hummingbird's.
            let mine = handedOn == 0 && Self.keepsAlive(head.headerFields[.connection])
            if mine, let key = KeptAnswer.key(head), let kept = site.answers.get(key) {
                dropping = true
                site.metrics.served(blocks: kept.blocks, bytes: kept.body.readableBytes)
                write(.ok, kept.headers, kept.body, for: head, route: "/ipfs", since: .now, context: context)
            } else if mine, let request = Self.request(head, site: site),
                let loopCheck = site.loopCheck(on: context.eventLoop)
            {
                dropping = true
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

    private func handOn(_ head: HTTPRequestPart, context: ChannelHandlerContext) {
        dropping = false
        handedOn += 1
        handedSinceComplete = true
        context.fireChannelRead(wrapInboundOut(head))
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
        if case .success(let generation) = result,
            let answer = site.tokenFile(
                request.token,
                image: request.image,
                ifNoneMatch: request.head.headerFields[.ifNoneMatch],
                kept: generation
            )
        {
            var headers = answer.headers
            if let body = answer.body {
                // Where Hummingbird puts it: after the route's fields.
                headers.append(HTTPField(name: .contentLength, value: String(body.readableBytes)))
            }
            write(
                answer.status,
                headers,
                answer.body,
                for: request.head,
                route: "/tokens",
                since: request.start,
                context: context
            )
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

    /// Writes an answer as Hummingbird would (its `Date` and `Server` fields last), counted and timed as
    /// `RequestMetrics` counts and times one.
    private func write(
        _ status: HTTPResponse.Status,
        _ headers: HTTPFields,
        _ body: ByteBuffer?,
        for head: HTTPRequest,
        route: String,
        since start: ContinuousClock.Instant,
        context: ChannelHandlerContext
    ) {
        // Counted before it is written, as the routes' answers are (a client that reads `/metrics` after it sees it).
        RequestMetrics<BasicRequestContext>.answered(
            head.method,
            head.path?.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "",
            route: route,
            status: status,
            since: start,
            metrics: site.metrics,
            logger: logger
        )
        site.metrics.answerFromMemory()
        var fields = headers
        fields.append(HTTPField(name: .date, value: httpDate()))
        fields.append(HTTPField(name: .server, value: serverName))
        context.write(wrapOutboundOut(.head(HTTPResponse(status: status, headerFields: fields))), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(body)), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// The request, when it is one this handler may answer: `GET /tokens/{chainId}/{contract}/{id}[/image]` of a
    /// served collection, without a query or escapes.
    static func request(_ head: HTTPRequest, site: Site) -> Request? {
        guard head.method == .get, let path = head.path,
            path.utf8.count <= KilnServer.maxURILength, path.hasPrefix("/tokens/"),
            !path.utf8.contains(UInt8(ascii: "?")), !path.utf8.contains(UInt8(ascii: "%"))
        else { return nil }
        let parts = path.utf8.dropFirst("/tokens/".utf8.count).split(
            separator: UInt8(ascii: "/"),
            omittingEmptySubsequences: false
        )
        guard parts.count == 3 || (parts.count == 4 && parts[3].elementsEqual("image".utf8)),
            let chainId = String(parts[0]), let contract = String(parts[1]), let id = String(parts[2]),
            let token = try? site.token(chainId: chainId, contract: contract, id: id)
        else { return nil }
        return Request(head: head, token: token, image: parts.count == 4, start: .now)
    }

    /// Whether a `Connection` field is absent or `keep-alive` (browsers and most HTTP/1.1 clients send it).
    static func keepsAlive(_ connection: String?) -> Bool {
        guard let connection else { return true }
        return connection.utf8.count == 10 && connection.lowercased() == "keep-alive"
    }

    /// The `Date` field's value (RFC 9110's IMF-fixdate, as Hummingbird writes it), made once a second.
    private func httpDate() -> String {
        let now = time(nil)
        if now != date.second { date = (now, Self.httpDate(now)) }
        return date.text
    }

    /// By hand: Hummingbird's formatter (`DateCache`) is internal to it, and this toolchain's Foundation has no HTTP
    /// date style; `HotPathTests` checks it against a `DateFormatter`.
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
