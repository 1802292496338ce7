import ArgumentParser
import Foundation
import Kafka
import Logging

/// Reads a topic outside any consumer group: `dlq` reads it from the start up to the end it
/// had when asked, `tail` follows it.
struct TopicReader {
    let common: KafkaConfiguration
    let topic: String

    init(bootstrapServers: String, topic: String) {
        common = KafkaConfiguration(bootstrapServers: bootstrapServers.split(separator: ",").map(String.init), clientID: "payment-worker-tools")
        self.topic = topic
    }

    /// Every message now in the topic, in partition and offset order.
    func readToEnd() async throws -> [KafkaConsumerMessage] {
        // Assigned, never subscribed: the group id only satisfies librdkafka, and nothing is
        // committed under it (no offset is ever stored).
        let (consumer, offsets) = try await KafkaConsumer.fromStart(
            of: [topic], configuration: KafkaConsumerConfiguration(common: common, groupID: "payment-worker-tools"),
            logger: Logger(label: "payment-worker.tools"))
        var messages: [KafkaConsumerMessage] = []
        var unread = Set(offsets.filter { !$0.value.isEmpty }.keys)
        if !unread.isEmpty {
            for await batch in consumer.batches {
                for message in batch {
                    guard let range = offsets[message.topicPartition], range.contains(message.offset) else { continue }
                    messages.append(message)
                    if message.offset + 1 >= range.upperBound { unread.remove(message.topicPartition) }
                }
                if unread.isEmpty { break }
            }
        }
        await consumer.close()
        return messages.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }
    }

    /// A consumer of the topic from its start, or from its end as it is when this returns, so
    /// that nothing produced after is missed.
    func follower(fromStart: Bool) async throws -> KafkaConsumer {
        let logger = Logger(label: "payment-worker.tools")
        var configuration = KafkaConsumerConfiguration(common: common, groupID: "payment-worker-tail-\(UUID().uuidString)")
        guard !fromStart else {
            configuration.offsetReset = .earliest
            return try KafkaConsumer(configuration: configuration, topics: [topic], logger: logger)
        }
        return try await KafkaConsumer.fromEnd(of: [topic], configuration: configuration, logger: logger)
    }
}

/// The bootstrap servers of a tool command: its flag, else `PAYMENT_WORKER_BOOTSTRAP_SERVERS`.
func toolBootstrapServers(_ flag: String?) throws -> String {
    guard let bootstrap = flag ?? ProcessInfo.processInfo.environment["PAYMENT_WORKER_BOOTSTRAP_SERVERS"] else {
        throw ValidationError("--bootstrap-servers (or PAYMENT_WORKER_BOOTSTRAP_SERVERS) is needed")
    }
    return bootstrap
}
