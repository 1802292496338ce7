import Synchronization

/// Runs `operation` and returns its result, or throws `onTimeout()` once `timeout` has passed,
/// whichever comes first. The operation is then cancelled but not awaited: a call stuck on
/// a dead connection cannot hold its caller past the deadline.
func withDeadline<Result: Sendable>(
    _ timeout: Duration,
    onTimeout: @escaping @Sendable () -> any Error,
    _ operation: @escaping @Sendable () async throws -> Result
) async throws -> Result {
    let outcome = FirstOutcome<Result>()
    return try await withTaskCancellationHandler {
        try await withCheckedThrowingContinuation { continuation in
            outcome.start(continuation)
            let work = Task {
                do { outcome.finish(.success(try await operation())) } catch { outcome.finish(.failure(error)) }
            }
            let timer = Task {
                try? await Task.sleep(for: timeout)
                if outcome.finish(.failure(onTimeout())) { work.cancel() }
            }
            outcome.onFinish { timer.cancel() }
        }
    } onCancel: {
        outcome.finish(.failure(CancellationError()))
    }
}

/// The first of several outcomes resumes the caller; the others are dropped.
private final class FirstOutcome<Result: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Result, any Error>?
        var pending: Swift.Result<Result, any Error>?
        var finished = false
        var cleanup: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())

    func start(_ continuation: CheckedContinuation<Result, any Error>) {
        let early = state.withLock { state -> Swift.Result<Result, any Error>? in
            if let pending = state.pending { return pending }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(with: early) }
    }

    func onFinish(_ cleanup: @escaping @Sendable () -> Void) {
        let finished = state.withLock { state in
            if !state.finished { state.cleanup = cleanup }
            return state.finished
        }
        if finished { cleanup() }
    }

    /// True when this outcome was the first.
    @discardableResult
    func finish(_ result: Swift.Result<Result, any Error>) -> Bool {
        let (first, continuation, cleanup) = state.withLock { state -> (Bool, CheckedContinuation<Result, any Error>?, (@Sendable () -> Void)?) in
            guard !state.finished else { return (false, nil, nil) }
            state.finished = true
            if state.continuation == nil { state.pending = result }
            defer { state.continuation = nil; state.cleanup = nil }
            return (true, state.continuation, state.cleanup)
        }
        continuation?.resume(with: result)
        cleanup?()
        return first
    }
}
