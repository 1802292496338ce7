import Kafka
import Logging

/// What the worker needs of its consumer. The Kafka consumer in production; a test gives its
/// own, so that the worker's ordering, offset and revocation rules run in-process.
public protocol CommandSource: Sendable {
    /// The next batch, in partition order, or nil once the source is closed.
    func nextBatch() async -> [KafkaConsumerMessage]?
    /// Stores the next offset to read for each partition, for the next commit; throws for a
    /// partition no longer assigned.
    func storeOffsets(_ nextOffsets: [KafkaTopicPartition: Int64]) throws
    /// Stops (or restarts) fetching every partition while the source keeps its group.
    func holdFetching(_ hold: Bool) throws
    /// Messages behind each assigned partition's end; never blocks.
    func lag() throws -> [KafkaTopicPartition: Int64]
    /// Where it stands in each assigned partition; never blocks.
    func progress() throws -> [KafkaTopicPartition: PartitionProgress]
    /// Revokes the assignment (the listener runs), commits what was stored, and ends
    /// `nextBatch`.
    func close() async
}

extension CommandSource {
    /// The lag alone, for a source that knows no more.
    public func progress() throws -> [KafkaTopicPartition: PartitionProgress] {
        try lag().mapValues { PartitionProgress(position: nil, stored: nil, lag: $0) }
    }
}

/// What the worker needs of its producer.
public protocol ReplyProducer: Sendable {
    /// Hands the messages over in order; their acknowledgements come through the result.
    /// A message refused for good fails alone, in its place.
    func publish(_ messages: [KafkaProducerMessage]) async throws -> any DeliveryResults
    /// The error that made this producer unusable for good, if one did.
    var fatalError: KafkaError? { get }
    /// Fetches the topics' metadata now (also the broker health check).
    func prepare(topics: [String], timeout: Duration) async throws
    func clusterID(timeout: Duration) async throws -> String
    /// Flushes for at most `timeout`, fails what is left, and releases the client.
    func close(timeout: Duration) async
}

/// The acknowledgements of one `publish`.
public protocol DeliveryResults: Sendable {
    /// Each message's acknowledgement or error, in order, once every message has its answer.
    func results() async -> [Result<KafkaDeliveryReport, any Error>]
}

/// How the worker reaches Kafka: makes its producer (again, when one fails for good) and its
/// consumer, given the listener that holds revocations until work in flight is done.
public struct WorkerTransport: Sendable {
    public var makeProducer: @Sendable () throws -> any ReplyProducer
    public var makeSource: @Sendable (_ revocations: any KafkaRebalanceListener) throws -> any CommandSource

    public init(
        makeProducer: @escaping @Sendable () throws -> any ReplyProducer,
        makeSource: @escaping @Sendable (_ revocations: any KafkaRebalanceListener) throws -> any CommandSource
    ) {
        self.makeProducer = makeProducer
        self.makeSource = makeSource
    }

    /// The Kafka cluster of `configuration`: an idempotent producer, and a member of
    /// `configuration.groupID` subscribed to the commands topic.
    public static func kafka(_ configuration: WorkerConfiguration, logger: Logger) -> WorkerTransport {
        WorkerTransport(
            makeProducer: { try KafkaProducer(configuration: KafkaProducerConfiguration(common: configuration.kafka), logger: logger) },
            makeSource: { revocations in
                var consumer = KafkaConsumerConfiguration(common: configuration.kafka, groupID: configuration.groupID)
                consumer.instanceID = configuration.instanceID
                return try KafkaConsumer(configuration: consumer, topics: [configuration.topics.commands], logger: logger,
                                         rebalanceListener: revocations)
            })
    }
}

extension KafkaConsumer: CommandSource {
    public func nextBatch() async -> [KafkaConsumerMessage]? {
        var iterator = batches.makeAsyncIterator()
        return await iterator.next()
    }
}

extension KafkaProducer: ReplyProducer {
    public func publish(_ messages: [KafkaProducerMessage]) async throws -> any DeliveryResults {
        try await enqueueAll(messages)
    }
}

extension PendingDeliveries: DeliveryResults {}
