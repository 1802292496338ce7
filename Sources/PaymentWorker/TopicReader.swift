import ArgumentParser
import Foundation
import Kafka
import Logging

/// Reads a topic as its own consumer group that commits nothing of note: `dlq` reads it from
/// the start up to the end it had when asked, `tail` follows it.
struct TopicReader {
    let common: KafkaConfiguration
    let topic: String

    init(bootstrapServers: String, topic: String) {
        common = KafkaConfiguration(bootstrapServers: bootstrapServers.split(separator: ",").map(String.init), clientID: "payment-worker-tools")
        self.topic = topic
    }

    /// Every message now in the topic, in partition and offset order.
    func readToEnd(timeout: Duration = .seconds(30)) async throws -> [KafkaConsumerMessage] {
        let assigned = KafkaAssignmentSignal()
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(common: common, groupID: "payment-worker-tools-\(UUID().uuidString)"),
            topics: [topic], logger: Logger(label: "payment-worker.tools"), rebalanceListener: assigned)
        let partitions = try await assigned.partitions(within: timeout)
        let ends = try await consumer.highWatermarks(partitions).filter { $0.value > 0 }
        var messages: [KafkaConsumerMessage] = []
        var reached = Set(partitions.filter { ends[$0] == nil })
        if reached.count < partitions.count {
            for await batch in consumer.batches {
                for message in batch where message.offset < ends[message.topicPartition, default: 0] {
                    messages.append(message)
                    if message.offset + 1 >= ends[message.topicPartition, default: 0] { reached.insert(message.topicPartition) }
                }
                if reached.count == partitions.count { break }
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
