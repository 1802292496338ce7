import Synchronization

/// Counts batches between being handed to a partition's lane and being marked done. The
/// consumer loop waits while too many are in flight (backpressure), and a revocation waits
/// for none, so the consumer commits them before the partitions move.
final class InFlightWork: Sendable {
    private struct Waiter {
        let below: Int
        let continuation: CheckedContinuation<Void, Never>
    }

    private let state = Mutex<(count: Int, waiters: [Waiter])>((0, []))

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
                if state.count >= limit { state.waiters.append(Waiter(below: limit, continuation: continuation)) }
                return state.count < limit
            }
            if ready { continuation.resume() }
        }
    }

    func waitUntilIdle() async {
        await waitUntilBelow(1)
    }
}
