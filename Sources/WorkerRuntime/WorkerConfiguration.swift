import Kafka
import PaymentsDomain

/// What the worker needs to run, besides its store and accounts.
public struct WorkerConfiguration: Sendable {
    public struct Topics: Sendable {
        public var commands = "payments.commands"
        public var results = "payments.results"
        public var errors = "payments.errors"
        public var dlq = "payments.dlq"
        /// Each worker's status report, keyed by its instance id; compacted.
        public var status = "payments.status"

        public init() {}
    }

    public var kafka: KafkaConfiguration
    public var groupID = "payment-worker"
    /// Static group membership (`group.instance.id`): a member that comes back with the same
    /// id within its session timeout gets its partitions back without a rebalance.
    public var instanceID: String?
    public var topics = Topics()
    /// A command that clashed with a concurrent writer; past `attempts`, the DLQ. (The store
    /// being away is waited out without counting: see `StoreOutage`.)
    public var retry = RetryPolicy(initialBackoff: .milliseconds(100), maxBackoff: .seconds(5), attempts: 5)
    /// A publish or delivery that failed for a passing reason: tried until it goes through or
    /// the worker gives its work up.
    public var publishRetry = RetryPolicy(initialBackoff: .milliseconds(100), maxBackoff: .seconds(5))
    public var limits = CommandLimits()
    /// Messages over this many bytes are poison.
    public var maxMessageBytes = 16 << 20
    /// Consecutive writes of one partition applied in one store transaction, at most.
    public var maxCommandsPerTransaction = 200
    /// CSV lines decoded and waiting for one transaction, at most: bounds the memory bulk
    /// imports take (a decoded line costs some hundred bytes) without small transactions.
    public var maxLinesPerTransaction = 5_000
    /// Batches handled but not yet acknowledged, across partitions, before the worker stops
    /// taking more: bounds memory, and how much is handled again after a crash.
    public var maxBatchesInFlight = 16
    public var idempotencyRetention: Duration = .seconds(7 * 24 * 3600)
    /// Every store call answers within this, or counts as the store being unavailable.
    public var storeCallTimeout: Duration = .seconds(20)
    /// How often the store is probed while it is away: capped, jittered backoff.
    public var storeProbe = RetryPolicy(initialBackoff: .milliseconds(250), maxBackoff: .seconds(30))
    /// Work in flight with nothing done for longer than this fails liveness (docs/contract.md §5).
    public var livenessWindow: Duration = .seconds(60)
    /// How often readiness (store, broker) and the lag gauges are refreshed.
    public var healthCheckInterval: Duration = .seconds(2)
    /// How often the worker publishes its status report.
    public var statusInterval: Duration = .seconds(5)
    /// `sqlite` or `postgres`, as the status report names the store.
    public var storeKind = "sqlite"
    /// How long SIGTERM waits for in-flight work before giving up on it (uncommitted).
    public var shutdownTimeout: Duration = .seconds(30)

    /// Checks the Kafka properties with librdkafka, as the worker's clients will use them.
    public func validate() throws {
        var consumer = KafkaConsumerConfiguration(common: kafka, groupID: groupID)
        consumer.instanceID = instanceID
        try consumer.validate()
        try KafkaProducerConfiguration(common: kafka).validate()
    }

    public init(kafka: KafkaConfiguration) {
        self.kafka = kafka
    }
}
