import CRDKafka
import Synchronization

/// Matches librdkafka's delivery reports to the senders awaiting them. Each message carries
/// an id as its opaque; the one delivery-report callback, on the producer's poll thread,
/// resumes the sender. Thousands of messages can be in flight with no thread per message.
final class DeliveryTracker: Sendable {
    /// Called once with the broker's answer for one message.
    typealias Continuation = @Sendable (Result<KafkaDeliveryReport, any Error>) -> Void

    struct StateMachine {
        private var nextID: UInt = 1
        private var pending: [UInt: Continuation] = [:]
        /// Counts reports, so that a sender that found the queue full can tell whether room
        /// was made while it was getting ready to wait.
        private(set) var reportsSeen: UInt64 = 0
        private var capacityWaiters: [CheckedContinuation<Void, Never>] = []
        private var closed = false

        enum RegisterAction {
            case send(id: UInt, reportsSeen: UInt64)
            case failClosed
        }

        mutating func register(_ continuation: @escaping Continuation) -> RegisterAction {
            guard !closed else { return .failClosed }
            let id = nextID
            nextID &+= 1
            pending[id] = continuation
            return .send(id: id, reportsSeen: reportsSeen)
        }

        mutating func remove(_ id: UInt) -> Continuation? {
            pending.removeValue(forKey: id)
        }

        struct ReportAction {
            var continuation: Continuation?
            var capacityWaiters: [CheckedContinuation<Void, Never>]
        }

        mutating func reported(_ id: UInt) -> ReportAction {
            reportsSeen &+= 1
            defer { capacityWaiters = [] }
            return ReportAction(continuation: pending.removeValue(forKey: id), capacityWaiters: capacityWaiters)
        }

        /// True when the caller must wait: no report has come since it saw the queue full.
        mutating func waitForCapacity(after seen: UInt64, _ waiter: CheckedContinuation<Void, Never>) -> Bool {
            guard reportsSeen == seen, !closed else { return false }
            capacityWaiters.append(waiter)
            return true
        }

        /// Everything still awaiting a report when the producer is gone.
        mutating func close() -> (pending: [Continuation], capacityWaiters: [CheckedContinuation<Void, Never>]) {
            closed = true
            defer {
                pending = [:]
                capacityWaiters = []
            }
            return (Array(pending.values), capacityWaiters)
        }

        mutating func stopAccepting() { closed = true }

        var inFlight: Int { pending.count }
    }

    private let state = Mutex(StateMachine())

    func register(_ continuation: @escaping Continuation) -> StateMachine.RegisterAction {
        state.withLock { $0.register(continuation) }
    }

    func remove(_ id: UInt) -> Continuation? {
        state.withLock { $0.remove(id) }
    }

    var inFlight: Int { state.withLock { $0.inFlight } }

    /// New sends fail from now on; those in flight still get their reports.
    func stopAccepting() {
        state.withLock { $0.stopAccepting() }
    }

    func waitForCapacity(after seen: UInt64) async {
        await withCheckedContinuation { waiter in
            let mustWait = state.withLock { $0.waitForCapacity(after: seen, waiter) }
            if !mustWait { waiter.resume() }
        }
    }

    /// Called by librdkafka on the poll thread.
    func deliveryReported(_ message: rd_kafka_message_t) {
        let id = UInt(bitPattern: message._private)
        let action = state.withLock { $0.reported(id) }
        for waiter in action.capacityWaiters { waiter.resume() }
        guard let continuation = action.continuation else { return }
        let topic = message.rkt.map { String(cString: rd_kafka_topic_name($0)) } ?? ""
        if message.err == RD_KAFKA_RESP_ERR_NO_ERROR {
            continuation(.success(KafkaDeliveryReport(topic: topic, partition: message.partition, offset: message.offset)))
        } else {
            continuation(.failure(KafkaError(code: .delivery, responseError: message.err, context: "delivery to \(topic) failed")))
        }
    }

    func failAll(with error: KafkaError) {
        let (pending, waiters) = state.withLock { $0.close() }
        for continuation in pending { continuation(.failure(error)) }
        for waiter in waiters { waiter.resume() }
    }
}
