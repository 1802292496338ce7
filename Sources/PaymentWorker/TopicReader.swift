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

    /// Every message now in the topic, in partition and offset order: the bounded window
    /// read the console's pages use, over the whole topic as it is when asked.
    func readToEnd() async throws -> [KafkaConsumerMessage] {
        // Assigned, never subscribed: the group id only satisfies librdkafka, and nothing is
        // committed under it (no offset is ever stored).
        try await KafkaTopicWindow.read(
            topic: topic, configuration: KafkaConsumerConfiguration(common: common, groupID: "payment-worker-tools"),
            deadline: Self.wholeTopicDeadline, logger: Logger(label: "payment-worker.tools")
        ) { _, held in held }.messages
    }

    /// A whole topic is read within this, or the tool says the broker did not answer in time.
    static let wholeTopicDeadline: Duration = .seconds(300)

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
