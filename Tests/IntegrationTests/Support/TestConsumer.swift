import Kafka
import Logging
import Synchronization

/// What a consumer's group membership did, in order.
enum RebalanceEvent: Sendable {
    case assigned([KafkaTopicPartition])
    case revoked([KafkaTopicPartition], lost: Bool)
}

extension Array where Element == RebalanceEvent {
    /// The assignment after replaying these events.
    var currentAssignment: Set<KafkaTopicPartition> {
        reduce(into: []) { assignment, event in
            switch event {
            case .assigned(let partitions): assignment.formUnion(partitions)
            case .revoked(let partitions, _): assignment.subtract(partitions)
            }
        }
    }
}

struct RecordingListener: KafkaRebalanceListener {
    let events: Recorder<RebalanceEvent>

    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async {
        events.append(.assigned(partitions))
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition], lost: Bool) async {
        events.append(.revoked(partitions, lost: lost))
    }
}

/// A group member that records every message it receives and marks done those that
/// `shouldMarkDone` accepts, in order, as a worker would.
final class TestConsumer: Sendable {
    let consumer: KafkaConsumer
    let received = Recorder<KafkaConsumerMessage>()
    let markedDone = Recorder<KafkaConsumerMessage>()
    let rebalances = Recorder<RebalanceEvent>()
    let errors = Recorder<KafkaError>()
    private let loop: Mutex<Task<Void, Never>?> = Mutex(nil)

    init(
        bootstrapServers: String,
        group: String,
        topics: [String],
        properties: [String: String] = [:],
        shouldMarkDone: @escaping @Sendable (KafkaConsumerMessage) -> Bool = { _ in true }
    ) throws {
        var configuration = KafkaConsumerConfiguration(
            common: KafkaConfiguration(bootstrapServers: [bootstrapServers], clientID: "test-\(group)", properties: properties),
            groupID: group
        )
        // Short enough that rebalances in tests take moments, not the production defaults.
        configuration.heartbeatInterval = .milliseconds(100)
        configuration.sessionTimeout = .seconds(6)
        configuration.commitInterval = .milliseconds(200)
        let errors = self.errors
        consumer = try KafkaConsumer(
            configuration: configuration,
            topics: topics,
            logger: Logger.quiet("test.consumer"),
            rebalanceListener: RecordingListener(events: rebalances),
            errorHandler: { errors.append($0) }
        )
        let (consumer, received, markedDone) = (consumer, received, markedDone)
        loop.withLock {
            $0 = Task {
                for await batch in consumer.batches {
                    for message in batch {
                        received.append(message)
                        guard shouldMarkDone(message) else { continue }
                        do {
                            try consumer.markDone(message)
                            markedDone.append(message)
                        } catch {
                            errors.append(error as? KafkaError ?? KafkaError(code: .offsetStore, message: "\(error)"))
                        }
                    }
                }
            }
        }
    }

    /// Waits until this member holds exactly `count` partitions.
    func waitForAssignment(count: Int, timeout: Duration = .seconds(30)) async throws -> Set<KafkaTopicPartition> {
        try await rebalances.wait(for: "an assignment of \(count) partitions", timeout: timeout) {
            $0.currentAssignment.count == count
        }.currentAssignment
    }

    /// Closes the consumer and waits for its loop to see the end of `batches`.
    func close() async {
        await consumer.close()
        await loop.withLock { $0 }?.value
    }
}

extension KafkaConsumerMessage {
    var keyString: String? { key.map { String(decoding: $0, as: UTF8.self) } }
    var valueString: String? { value.map { String(decoding: $0, as: UTF8.self) } }
    var position: String { "\(topic)/\(partition)@\(offset)" }
}

extension Logger {
    /// Tests log only errors: the transport warnings of clients outliving their broker at the
    /// end of a test are expected.
    static func quiet(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = .error
        return logger
    }
}
