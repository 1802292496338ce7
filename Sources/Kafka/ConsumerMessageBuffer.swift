import Dispatch
import Synchronization

/// Hands polled batches from the consumer's poll thread to its owner, with backpressure:
/// at most `capacity` batches are between the two, and the poll thread stops polling (so
/// librdkafka stops fetching) while the owner is behind.
final class ConsumerMessageBuffer: Sendable {
    typealias Batch = [KafkaConsumerMessage]
    typealias Waiter = CheckedContinuation<Batch?, Never>

    struct StateMachine {
        /// At most the buffer's capacity, so taking the first is cheap.
        private var batches: [Batch] = []
        private var waiter: Waiter?
        private(set) var finished = false

        enum PushAction {
            case resume(Waiter, Batch)
            case buffered
            case dropped
        }

        mutating func push(_ batch: Batch) -> PushAction {
            guard !finished else { return .dropped }
            if let waiter {
                self.waiter = nil
                return .resume(waiter, batch)
            }
            batches.append(batch)
            return .buffered
        }

        enum NextAction {
            case resume(Waiter, Batch?)
            case suspend
        }

        mutating func next(_ waiter: Waiter) -> NextAction {
            // Removed, not stepped over: a buffer that is never empty under a steady
            // backlog would otherwise keep every batch it ever handed over.
            if !batches.isEmpty { return .resume(waiter, batches.removeFirst()) }
            if finished { return .resume(waiter, nil) }
            self.waiter = waiter
            return .suspend
        }

        /// Drops buffered messages of partitions the consumer is losing: they were never
        /// handed over, so they stay uncommitted and their new owner reads them.
        /// Returns how many whole batches went.
        mutating func discard(_ partitions: Set<KafkaTopicPartition>) -> Int {
            var removedBatches = 0
            var kept: [Batch] = []
            for batch in batches {
                let remaining = batch.filter { !partitions.contains($0.topicPartition) }
                if remaining.isEmpty { removedBatches += 1 } else { kept.append(remaining) }
            }
            batches = kept
            return removedBatches
        }

        mutating func finish() -> Waiter? {
            finished = true
            batches = []
            defer { waiter = nil }
            return waiter
        }

        /// Batches the buffer holds a reference to.
        var retainedBatches: Int { batches.count }

        mutating func cancelWaiter() -> Waiter? {
            defer { waiter = nil }
            return waiter
        }
    }

    private let state = Mutex(StateMachine())
    /// Free places for batches; the poll thread takes one before handing a batch over.
    private let slots: DispatchSemaphore

    init(capacity: Int) {
        // Made at 0 and raised: libdispatch traps when a semaphore is freed below the value
        // it was made with, which a buffer closed while full would be.
        slots = DispatchSemaphore(value: 0)
        for _ in 0..<max(capacity, 1) { slots.signal() }
    }

    enum PushResult: Equatable {
        case accepted
        /// No room within the wait: the poll thread keeps the batch and polls on.
        case full
        /// The buffer is finished: the batch is dropped, uncommitted.
        case finished
    }

    /// Poll thread: hands the batch over if there is room within `timeout`. Never blocks
    /// longer, so that the consumer keeps being polled while its owner is behind.
    func push(_ batch: Batch, waitingAtMost timeout: Duration) -> PushResult {
        guard slots.wait(timeout: .now() + .milliseconds(Int(timeout.milliseconds))) == .success else { return .full }
        switch state.withLock({ $0.push(batch) }) {
        case .resume(let waiter, let batch):
            slots.signal()
            waiter.resume(returning: batch)
        case .buffered:
            break
        case .dropped:
            slots.signal()
            return .finished
        }
        return .accepted
    }

    /// Owner: the next batch, or nil once the consumer is closed (or the task cancelled).
    func next() async -> Batch? {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (waiter: Waiter) in
                switch state.withLock({ $0.next(waiter) }) {
                case .resume(let waiter, let batch):
                    if batch != nil { slots.signal() }
                    waiter.resume(returning: batch)
                case .suspend:
                    // A cancel that came before the waiter was stored found nothing to resume.
                    if Task.isCancelled {
                        state.withLock { $0.cancelWaiter() }?.resume(returning: nil)
                    }
                }
            }
        } onCancel: {
            state.withLock { $0.cancelWaiter() }?.resume(returning: nil)
        }
    }

    var retainedBatches: Int { state.withLock { $0.retainedBatches } }

    func discard(_ partitions: Set<KafkaTopicPartition>) {
        let freed = state.withLock { $0.discard(partitions) }
        for _ in 0..<freed { slots.signal() }
    }

    func finish() {
        state.withLock { $0.finish() }?.resume(returning: nil)
    }
}
