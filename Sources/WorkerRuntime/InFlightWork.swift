import Kafka
import Synchronization

/// Counts batches between being handed to a partition's lane and being marked done. The
/// consumer loop waits while too many are in flight (backpressure), a revocation waits for
/// none, so the consumer commits them before the partitions move, and the liveness watchdog
/// asks which one has waited longest, and for what.
final class InFlightWork: Sendable {
    private struct Waiter {
        let below: Int
        let continuation: CheckedContinuation<Void, Never>
    }

    /// A batch in flight: where it starts and what it waits for now.
    struct Batch: Sendable, Equatable {
        let partition: KafkaTopicPartition
        let offset: Int64
        var stage: String
    }

    private struct State {
        var batches: [Int: Batch] = [:]
        var nextID = 0
        var waiters: [Waiter] = []
        var abandoned = false
        /// When a batch was last done, or work began after a pause in it.
        var lastProgress = ContinuousClock.now
    }

    private let state = Mutex(State())

    /// Set once the shutdown timeout has passed: batches still in flight are given up
    /// uncommitted (their commands are delivered again and answered from the idempotency
    /// store), and nobody waits for them any more.
    var isAbandoned: Bool { state.withLock { $0.abandoned } }

    /// Gives up the batches in flight and wakes every waiter; returns how many there were.
    /// With none in flight it does nothing: a drain that has ended is not given up.
    @discardableResult
    func abandon() -> Int {
        let (count, waiters) = state.withLock { state -> (Int, [Waiter]) in
            guard !state.batches.isEmpty else { return (0, []) }
            state.abandoned = true
            defer { state.waiters = [] }
            return (state.batches.count, state.waiters)
        }
        for waiter in waiters { waiter.continuation.resume() }
        return count
    }

    /// A batch of `partition` from `offset` enters its lane; returns its id.
    func begin(_ partition: KafkaTopicPartition, from offset: Int64, now: ContinuousClock.Instant = .now) -> Int {
        state.withLock { state in
            if state.batches.isEmpty { state.lastProgress = now }
            defer { state.nextID += 1 }
            state.batches[state.nextID] = Batch(partition: partition, offset: offset, stage: "waiting for the batch before it")
            return state.nextID
        }
    }

    func stage(_ id: Int, _ stage: String) {
        state.withLock { $0.batches[id]?.stage = stage }
    }

    func end(_ id: Int, now: ContinuousClock.Instant = .now) {
        let ready = state.withLock { state -> [Waiter] in
            state.batches[id] = nil
            state.lastProgress = now
            let count = state.batches.count
            let ready = state.waiters.filter { count < $0.below }
            state.waiters.removeAll { count < $0.below }
            return ready
        }
        for waiter in ready { waiter.continuation.resume() }
    }

    /// The oldest batch in flight when none has been done for longer than `window`.
    func stalled(longerThan window: Duration, now: ContinuousClock.Instant = .now) -> (batch: Batch, for: Duration)? {
        state.withLock { state in
            guard now - state.lastProgress > window, let oldest = state.batches.min(by: { $0.key < $1.key }) else { return nil }
            return (oldest.value, now - state.lastProgress)
        }
    }

    /// Batches in flight, by partition.
    func countByPartition() -> [KafkaTopicPartition: Int] {
        state.withLock { state in state.batches.values.reduce(into: [:]) { $0[$1.partition, default: 0] += 1 } }
    }

    /// Returns once fewer than `limit` batches are in flight.
    func waitUntilBelow(_ limit: Int) async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state in
                let ready = state.batches.count < limit || state.abandoned
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
