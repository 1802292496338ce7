/// How the worker tries again after a passing failure, everywhere it does: exponential
/// backoff from `initialBackoff`, capped at `maxBackoff`, each wait somewhere in the upper
/// half of its step so that callers that failed together spread out, and at most `attempts`
/// tries in all (`Int.max` by default: for what is waited out rather than given up).
public struct RetryPolicy: Sendable {
    public var initialBackoff: Duration
    public var maxBackoff: Duration
    public var attempts: Int

    public init(initialBackoff: Duration, maxBackoff: Duration, attempts: Int = .max) {
        self.initialBackoff = initialBackoff
        self.maxBackoff = maxBackoff
        self.attempts = attempts
    }

    /// The step after `attempt` failed tries, before jitter.
    func step(afterAttempt attempt: Int) -> Duration {
        min(initialBackoff * (1 << min(max(attempt - 1, 0), 20)), maxBackoff)
    }

    /// How long to wait after `attempt` failed tries.
    func delay(afterAttempt attempt: Int) -> Duration {
        let full = step(afterAttempt: attempt)
        return full / 2 + full / 2 * Double.random(in: 0...1)
    }

    /// Whether another try is allowed after `attempt` failed ones.
    func allowsAnother(after attempt: Int) -> Bool {
        attempt < attempts
    }

    /// Waits `delay(afterAttempt:)`; returns early when the task is cancelled.
    func pause(afterAttempt attempt: Int) async {
        try? await Task.sleep(for: delay(afterAttempt: attempt))
    }

    /// What one try came to.
    enum Try<Value> {
        /// Done, with what `run` returns.
        case done(Value)
        /// A passing failure: wait this attempt's backoff, then try again.
        case failed
        /// Try again at once, as the same attempt: what stood in the way was waited out
        /// elsewhere (a store outage) or replaced (a producer).
        case again
    }

    /// Tries `body` (given the attempt number, from 1) until it is done, waiting the backoff
    /// after each failed try; nil when `stopped` holds before a try. Budgets are the body's
    /// to keep (`allowsAnother(after:)`): some failures are waited out, others given up.
    func run<Value>(stopWhen stopped: () -> Bool = { Task.isCancelled }, _ body: (_ attempt: Int) async -> Try<Value>) async -> Value? {
        var attempt = 1
        while !stopped() {
            switch await body(attempt) {
            case .done(let value):
                return value
            case .failed:
                await pause(afterAttempt: attempt)
                attempt += 1
            case .again:
                continue
            }
        }
        return nil
    }
}
