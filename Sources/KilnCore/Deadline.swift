// Kiln — Apache-2.0. See LICENSE.

internal import Synchronization

/// Runs `operation` and returns its result, or `expired()`'s error once `timeout` has passed, whichever comes
/// first; the loser is cancelled. For I/O whose own deadline is not always honoured (after a refused
/// connection, async-http-client can hold a request in its connection pool's backoff well past it).
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
    let timer = Task {
        try? await Task.sleep(for: timeout)
        outcome.finish(.failure(expired()))
    }
    let result = await withTaskCancellationHandler {
        await outcome.value
    } onCancel: {
        work.cancel()
    }
    work.cancel()
    timer.cancel()
    return try result.get()
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
