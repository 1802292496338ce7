import ArgumentParser
import Foundation
import Kafka
import Logging

/// The benchmark's baseline: a group member that answers every command `ok` with an empty
/// body, unread and unstored, through the same Kafka layer and the same hand-off rules as the
/// worker (replies enqueued in partition order, offsets stored once the broker acknowledged
/// them). What the worker costs beyond this is its own: decoding, the store, idempotency.
/// It lives here, not in `payment-worker`, so that no switch of the product skips its work.
struct PassthroughBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "passthrough",
        abstract: "Answer every command on the commands topic ok, unread and unstored, until SIGTERM: the worker benchmark's baseline.")

    @Option(help: "Bootstrap servers of the broker.")
    var bootstrapServers: String

    @Option var groupId = "payment-worker"
    @Option var commandsTopic = "payments.commands"
    @Option var resultsTopic = "payments.results"

    func run() async throws {
        var logger = Logger(label: "passthrough")
        logger.logLevel = .error
        let common = KafkaConfiguration(bootstrapServers: [bootstrapServers], clientID: "payment-bench-passthrough")
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(common: common), logger: logger)
        try await producer.prepare(topics: [resultsTopic])
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(common: common, groupID: groupId), topics: [commandsTopic], logger: logger,
            rebalanceListener: AnnounceAssignment())
        let stop = DispatchSource.makeSignalSource(signal: SIGTERM, queue: .global())
        signal(SIGTERM, SIG_IGN)
        stop.setEventHandler { Task { await consumer.close() } }
        stop.resume()

        // One batch's replies are acknowledged while the next batch's are enqueued, as in
        // the worker; offsets are stored in order once their replies are acknowledged.
        var previous: Task<Void, Never>?
        for await batch in consumer.batches {
            let replies = batch.map { command in
                var headers = [KafkaHeader(name: "status", string: "ok"), KafkaHeader(name: "content-type", string: "text/csv")]
                if let correlation = command.headers.string(named: "correlation-id") {
                    headers.append(KafkaHeader(name: "correlation-id", string: correlation))
                }
                return KafkaProducerMessage(topic: resultsTopic, key: command.key, value: [], headers: headers)
            }
            let pending = try await producer.enqueueAll(replies)
            let before = previous
            let next = batch.reduce(into: [KafkaTopicPartition: Int64]()) { $0[$1.topicPartition] = $1.offset + 1 }
            previous = Task {
                await before?.value
                guard (try? await pending.reports()) != nil else { return }
                try? consumer.storeOffsets(next)
            }
        }
        await previous?.value
        await producer.close()
    }
}

/// Says on standard error when the group has given this member its partitions, as the
/// worker's log does, so that the benchmark script starts its clock at the same point.
private struct AnnounceAssignment: KafkaRebalanceListener {
    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async {
        FileHandle.standardError.write(Data("partitions assigned: \(partitions.count)\n".utf8))
    }

    func partitionsRevoked(_ partitions: [KafkaTopicPartition], lost: Bool) async {}
}
