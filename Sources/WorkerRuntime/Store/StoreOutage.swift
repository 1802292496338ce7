import PaymentsDomain
import Synchronization

/// The store being away is not a command's fault (docs/contract.md §5). The first failure that says
/// so opens an outage: every caller waits, `changed` tells the worker (which stops fetching,
/// reports not ready, logs and counts once), and `run` probes the store with capped, jittered
/// backoff for as long as it takes. The first probe that passes closes the outage: `changed`
/// again, and every waiter tries its work again, in its partition's order.
final class StoreOutage: Sendable {
    private struct State {
        var reason: String?
        var waiters: [CheckedContinuation<Bool, Never>] = []
        var givenUp = false
    }

    private let state = Mutex(State())
    private let opened: AsyncStream<Void>
    private let openedContinuation: AsyncStream<Void>.Continuation
    private let probe: @Sendable () async throws -> Void
    private let retry: RetryPolicy
    /// Called with the reason when an outage opens, and with nil when it closes.
    private let changed: @Sendable (_ reason: String?) -> Void

    init(retry: RetryPolicy, probe: @escaping @Sendable () async throws -> Void, changed: @escaping @Sendable (String?) -> Void) {
        (opened, openedContinuation) = AsyncStream.makeStream(bufferingPolicy: .bufferingNewest(1))
        self.retry = retry
        self.probe = probe
        self.changed = changed
    }

    /// Why the store is away, while it is.
    var reason: String? { state.withLock { $0.reason } }

    /// Opens an outage for `error` unless one is open, without waiting (a readiness check).
    func report(_ error: StoreError) {
        guard state.withLock({ state in
            guard state.reason == nil, !state.givenUp else { return false }
            state.reason = error.message
            return true
        }) else { return }
        changed(error.message)
        openedContinuation.yield()
    }

    /// Opens an outage for `error` unless one is open, and returns once the store answers
    /// again (true), or when the worker stops waiting for it (false: shutting down).
    func waitOut(_ error: StoreError) async -> Bool {
        report(error)
        return await withCheckedContinuation { continuation in
            let answer = state.withLock { state -> Bool? in
                if state.givenUp { return false }
                // Closed meanwhile: try again at once.
                if state.reason == nil { return true }
                state.waiters.append(continuation)
                return nil
            }
            if let answer { continuation.resume(returning: answer) }
        }
    }

    /// Probes while an outage is open; runs until cancelled.
    func run() async {
        for await _ in opened {
            // The call that opened it has just failed: the first probe waits too.
            await retry.pause(afterAttempt: 1)
            let probe = self.probe
            let answered: Void? = await retry.run { _ in (try? await probe()) != nil ? .done(()) : .failed }
            guard answered != nil else { return }
            let waiters = state.withLock { state in
                state.reason = nil
                defer { state.waiters = [] }
                return state.waiters
            }
            changed(nil)
            for waiter in waiters { waiter.resume(returning: true) }
        }
    }

    /// Shutdown: nobody waits any more, now or later; their work stays uncommitted.
    func giveUp() {
        let waiters = state.withLock { state in
            state.givenUp = true
            defer { state.waiters = [] }
            return state.waiters
        }
        openedContinuation.finish()
        for waiter in waiters { waiter.resume(returning: false) }
    }
}
