// Kiln — Apache-2.0. See LICENSE.

internal import Dispatch
internal import Synchronization

/// Runs `operation` and returns its result, or `expired()`'s error once `timeout` has passed, whichever comes
/// first; the loser is cancelled. For I/O whose own deadline is not always honoured (after a refused
/// connection, async-http-client can hold a request in its connection pool's backoff well past it).
///
/// The timer is a Dispatch timer source, cancelled (and freed) as soon as the race is decided. Not a
/// `Task.sleep`: a sleep cancelled early keeps its memory until its deadline would have passed
/// (swiftlang/swift#60441, still so in Swift 6.3), so a 300 s deadline around every database call held about
/// 300 bytes per call for five minutes — `kiln serve` on PostgreSQL grew by megabytes a minute under load.
public func withDeadline<Value: Sendable, Failure: Error>(
    _ timeout: Duration,
    expired: @escaping @Sendable () -> Failure,
    _ operation: @escaping @Sendable () async throws(Failure) -> Value
) async throws(Failure) -> Value {
    let outcome = FirstOutcome<Value, Failure>()
    let work = Task {
        do throws(Failure) {
            outcome.finish(.success(try await operation()))
        } catch {
            outcome.finish(.failure(error))
        }
    }
    let timer = DispatchSource.makeTimerSource(queue: .global())
    timer.schedule(deadline: deadline(after: timeout))
    timer.setEventHandler { outcome.finish(.failure(expired())) }
    timer.resume()
    let result = await withTaskCancellationHandler {
        await outcome.value
    } onCancel: {
        work.cancel()
    }
    work.cancel()
    timer.cancel()
    return try result.get()
}

/// The Dispatch time `timeout` from now (never, for a timeout past what Dispatch counts in nanoseconds).
private func deadline(after timeout: Duration) -> DispatchTime {
    let (seconds, attoseconds) = timeout.components
    guard seconds < Int64(Int.max / 1_000_000_000) - 1 else { return .distantFuture }
    let nanoseconds = max(0, Int(seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000))
    return .now() + .nanoseconds(nanoseconds)
}

/// The first result of a race; later ones are dropped.
private final class FirstOutcome<Value: Sendable, Failure: Error>: Sendable {
    private let state = Mutex<
        (result: Result<Value, Failure>?, waiter: CheckedContinuation<Result<Value, Failure>, Never>?)
    >((nil, nil))

    func finish(_ result: Result<Value, Failure>) {
        let waiter = state.withLock { state -> CheckedContinuation<Result<Value, Failure>, Never>? in
            guard state.result == nil else { return nil }
            state.result = result
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: result)
    }

    var value: Result<Value, Failure> {
        get async {
            await withCheckedContinuation { continuation in
                let ready = state.withLock { state -> Result<Value, Failure>? in
                    if let result = state.result { return result }
                    state.waiter = continuation
                    return nil
                }
                if let ready { continuation.resume(returning: ready) }
            }
        }
    }
}
