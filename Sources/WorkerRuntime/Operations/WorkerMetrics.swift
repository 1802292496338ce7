import Kafka
import Metrics
import StatusReport
import Synchronization

/// What the worker counts and times, through swift-metrics; `run` exports it in Prometheus
/// format. Handles are made once per name and labels and then only updated, so counting a
/// command costs a dictionary lookup.
public final class WorkerMetrics: Sendable {
    private struct Key: Hashable {
        let label: String
        let dimensions: [String]
    }

    /// A counter's label and up to two label values: looked up on every command, so built
    /// without an array.
    private struct CounterKey: Hashable {
        let label: String
        let first: String
        let second: String
    }

    private let counters = Mutex<[CounterKey: Counter]>([:])
    private let gauges = Mutex<[Key: Gauge]>([:])
    private let storeTransaction = Metrics.Timer(label: "payment_worker_store_transaction_seconds")
    private let handling = Metrics.Timer(label: "payment_worker_handling_seconds")
    private let storeAvailability = Gauge(label: "payment_worker_store_available")
    /// The same counts kept for the status report, which cannot read them back from
    /// swift-metrics.
    private let sinceStart = Mutex(WorkerStatusReport.Counters())

    public init() {}

    /// What was counted since the worker started, for its status report.
    var sinceStartCounts: WorkerStatusReport.Counters { sinceStart.withLock { $0 } }

    /// A command answered, by command and reply status (`ok`, `partial`, `error`, `poison`).
    func commandHandled(_ command: String, status: String) {
        counter("payment_worker_commands_total", ("command", command), ("status", status)).increment()
        sinceStart.withLock { $0.commands[command, default: [:]][status, default: 0] += 1 }
    }

    /// An error event published, by its code.
    func errorEventPublished(code: String) {
        counter("payment_worker_error_events_total", ("code", code)).increment()
        sinceStart.withLock { $0.errorEvents[code, default: 0] += 1 }
    }

    func linesHandled(_ command: String, count: Int) {
        counter("payment_worker_lines_total", ("command", command)).increment(by: Int64(count))
    }

    /// A command answered from its idempotency record.
    func replayed(_ command: String) {
        counter("payment_worker_idempotent_replays_total", ("command", command)).increment()
        sinceStart.withLock { $0.replays += 1 }
    }

    /// A transient failure tried again: `store` or `publish`.
    func retried(_ what: String) {
        counter("payment_worker_retries_total", ("operation", what)).increment()
    }

    /// A message Kafka refused for good (too large, invalid topic, not authorized), by topic.
    func publishRefused(_ topic: String) {
        counter("payment_worker_publish_refused_total", ("topic", topic)).increment()
    }

    /// A message copied to the DLQ: `poison`, `retries_exhausted` or `reply_refused`.
    func sentToDLQ(reason: String) {
        counter("payment_worker_dlq_messages_total", ("reason", reason)).increment()
        sinceStart.withLock { $0.dlqCopies += 1 }
    }

    /// 1 while the store answers, 0 during an outage.
    func storeAvailable(_ available: Bool) {
        storeAvailability.record(available ? 1 : 0)
    }

    func storeTransaction(took duration: Duration) {
        storeTransaction.recordNanoseconds(duration.nanoseconds)
    }

    /// From a batch's arrival to the broker's acknowledgement of its replies, once a command.
    func handled(_ commands: Int, took duration: Duration) {
        let nanoseconds = duration.nanoseconds
        for _ in 0..<commands { handling.recordNanoseconds(nanoseconds) }
    }

    func lag(_ partition: KafkaTopicPartition, messages: Int64) {
        let key = Key(label: "payment_worker_consumer_lag", dimensions: [partition.topic, "\(partition.partition)"])
        let gauge = gauges.withLock { gauges in
            if let gauge = gauges[key] { return gauge }
            let gauge = Gauge(label: key.label, dimensions: [("topic", partition.topic), ("partition", "\(partition.partition)")])
            gauges[key] = gauge
            return gauge
        }
        gauge.record(messages)
    }

    private func counter(_ label: String, _ first: (String, String), _ second: (String, String)? = nil) -> Counter {
        let key = CounterKey(label: label, first: first.1, second: second?.1 ?? "")
        return counters.withLock { counters in
            if let counter = counters[key] { return counter }
            let counter = Counter(label: label, dimensions: [first] + (second.map { [$0] } ?? []))
            counters[key] = counter
            return counter
        }
    }
}

extension Duration {
    var nanoseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
