// Kiln — Apache-2.0. See LICENSE.

internal import Logging
public import NIOCore
internal import PostgresNIO
internal import Synchronization

extension PostgresStore: LoopPublicationCounting {
    /// An event loop's counting connection: being made or made, or failed (counts fail at once until `retry`).
    enum LoopConnection {
        case open(EventLoopFuture<PostgresConnection>)
        case failed(retry: NIODeadline)
    }

    /// How long counts on a loop fail at once after its connection failed, rather than each waiting for a connect
    /// (the routes, through the pool, say meanwhile what is wrong).
    static let loopRetryDelay = TimeAmount.seconds(1)
    /// How long a count may take before it fails and its connection is dropped (a server that stopped answering
    /// without closing the connection); what waited for it goes the routes' way, through the pool.
    static let loopCountTimeout = TimeAmount.seconds(5)
    /// The name of the count prepared on each loop's connection.
    static let countStatement = "kiln_count_publications"

    /// On a connection of `loop`'s own, outside the pool (postgres-nio's futures complete on the connection's loop:
    /// no task, no other thread): one row of `published_collections`' sums, as ``publishedTotals()`` reads it. A
    /// failure, a closed connection or a count past ``loopCountTimeout`` drops the connection, so a count after
    /// ``loopRetryDelay`` connects again.
    public func countPublications(on loop: any EventLoop) -> EventLoopFuture<Int> {
        let what = "count the publications"
        let key = ObjectIdentifier(loop)
        let (configuration, logger, location) = (connection, self.logger, self.location)
        let made: EventLoopFuture<PostgresConnection>? = loopConnections.withLock { connections in
            switch connections[key] {
            case .open(let made): return made
            case .failed(let retry) where NIODeadline.now() < retry: return nil
            case .failed, nil:
                // The count is prepared once per connection: the server parses and plans it once, not per check
                // (a third of its CPU per check).
                let made = PostgresConnection.connect(on: loop, configuration: configuration, id: 0, logger: logger)
                    .flatMap { connection in
                        connection.query(
                            PostgresQuery(unsafeSQL: "PREPARE \(Self.countStatement) AS \(HotQuery.storeTotals.sql)"),
                            logger: logger
                        ).map { _ in connection }
                    }
                connections[key] = .open(made)
                return made
            }
        }
        guard let made else {
            return loop.makeFailedFuture(
                StoreError(.database, "Unable to \(what): the counting connection to \(location) failed just now")
            )
        }
        let promise = loop.makePromise(of: Int.self)
        // Whichever comes first, on the loop: the answer or the deadline.
        let done = NIOLoopBoundBox.makeEmptyBox(valueType: Void.self, eventLoop: loop)
        @Sendable func finish(_ result: Result<Int, any Error>) {
            guard done.value == nil else { return }
            done.value = ()
            if case .failure = result { drop(made, key) }
            promise.completeWith(result.mapError { Self.storeError(what, $0) })
        }
        let deadline = loop.scheduleTask(in: Self.loopCountTimeout) {
            let seconds = Self.loopCountTimeout.nanoseconds / 1_000_000_000
            finish(.failure(StoreError(.database, "Unable to \(what): \(location) did not answer in \(seconds) s")))
        }
        made.flatMap { connection -> EventLoopFuture<PostgresQueryResult> in
            // A query on a connection already closed would never be answered (postgres-nio writes it nowhere:
            // vapor/postgres-nio#487, whose fix was reverted in #501); the deadline above covers a race with this.
            guard !connection.isClosed else {
                return loop.makeFailedFuture(StoreError(.database, "Unable to \(what): the connection closed"))
            }
            return connection.query(PostgresQuery(unsafeSQL: "EXECUTE \(Self.countStatement)"), logger: logger)
        }
        .flatMapThrowing { result -> Int in
            guard let row = result.rows.first else { return 0 }
            return Int(try row.makeRandomAccess()[1].decode(Int64?.self) ?? 0)
        }
        .whenComplete { result in
            deadline.cancel()
            finish(result)
        }
        return promise.futureResult
    }

    /// Forgets the loop's connection `made` (unless another replaced it) and closes it: the loop's next count after
    /// ``loopRetryDelay`` connects again.
    private func drop(_ made: EventLoopFuture<PostgresConnection>, _ key: ObjectIdentifier) {
        let dropped = loopConnections.withLock { connections -> Bool in
            guard case .open(let current) = connections[key], current === made else { return false }
            connections[key] = .failed(retry: .now() + Self.loopRetryDelay)
            return true
        }
        if dropped { made.whenSuccess { let _: EventLoopFuture<Void> = $0.close() } }
    }
}
