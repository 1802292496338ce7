import Synchronization

/// Counts batches between being handed to a partition's lane and being marked done. The
/// consumer loop waits while too many are in flight (backpressure), and a revocation waits
/// for none, so the consumer commits them before the partitions move.
final class InFlightWork: Sendable {
    private struct Waiter {
        let below: Int
        let continuation: CheckedContinuation<Void, Never>
    }

    private let state = Mutex<(count: Int, waiters: [Waiter], abandoned: Bool)>((0, [], false))

    /// Set once the shutdown timeout has passed: batches still in flight are given up
    /// uncommitted (their commands are delivered again and answered from the idempotency
    /// store), and nobody waits for them any more.
    var isAbandoned: Bool { state.withLock { $0.abandoned } }

    /// Gives up the batches in flight and wakes every waiter; returns how many there were.
    /// With none in flight it does nothing: a drain that has ended is not given up.
    @discardableResult
    func abandon() -> Int {
        let (count, waiters) = state.withLock { state -> (Int, [Waiter]) in
            guard state.count > 0 else { return (0, []) }
            state.abandoned = true
            defer { state.waiters = [] }
            return (state.count, state.waiters)
        }
        for waiter in waiters { waiter.continuation.resume() }
        return count
    }

    func begin() {
        state.withLock { $0.count += 1 }
    }

    func end() {
        let ready = state.withLock { state -> [Waiter] in
            state.count -= 1
            let count = state.count
            let ready = state.waiters.filter { count < $0.below }
            state.waiters.removeAll { count < $0.below }
            return ready
        }
        for waiter in ready { waiter.continuation.resume() }
    }

    /// Returns once fewer than `limit` batches are in flight.
    func waitUntilBelow(_ limit: Int) async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state in
                let ready = state.count < limit || state.abandoned
                if !ready { state.waiters.append(Waiter(below: limit, continuation: continuation)) }
                return ready
            }
            if ready { continuation.resume() }
        }
    }

    func waitUntilIdle() async {
        await waitUntilBelow(1)
    }
}
