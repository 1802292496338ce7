import Logging

/// A bounded read of a topic outside any group: the messages of the offset range chosen for
/// each partition from its ends as the broker reports them, and nothing more. For explorers
/// that must open a topic of a million messages as fast as one of ten.
public struct KafkaTopicWindow: Sendable {
    /// In partition and offset order.
    public var messages: [KafkaConsumerMessage]
    /// Each partition's offsets as the broker reported them: the oldest held, the next to come.
    public var offsets: [KafkaTopicPartition: Range<Int64>]
    /// The offsets read of each partition.
    public var ranges: [KafkaTopicPartition: Range<Int64>]

    /// Reads `choose(partition, offsets)` of every partition of `topic` (clamped to what the
    /// partition holds), keeping the messages `keep` accepts as they come; fails when that
    /// takes longer than `deadline`.
    public static func read(
        topic: String,
        configuration: KafkaConsumerConfiguration,
        deadline: Duration = .seconds(10),
        logger: Logger = Logger(label: "kafka.window"),
        keeping keep: @escaping @Sendable (KafkaConsumerMessage) -> Bool = { _ in true },
        choose: @escaping @Sendable (KafkaTopicPartition, Range<Int64>) -> Range<Int64>
    ) async throws -> KafkaTopicWindow {
        let clock = ContinuousClock()
        let start = clock.now
        let reader = try await KafkaConsumer.assigned(
            to: [topic], from: .offset { choose($0, $1).lowerBound }, configuration: configuration, logger: logger, timeout: deadline)
        var ranges: [KafkaTopicPartition: Range<Int64>] = [:]
        for (partition, held) in reader.offsets {
            let chosen = choose(partition, held).clamped(to: held)
            ranges[partition] = min(reader.starts[partition] ?? chosen.lowerBound, chosen.upperBound)..<chosen.upperBound
        }
        let wanted = ranges.filter { !$0.value.isEmpty }
        let consumer = reader.consumer
        let messages = await withTaskGroup(of: [KafkaConsumerMessage]?.self) { group in
            group.addTask {
                var messages: [KafkaConsumerMessage] = []
                var unread = Set(wanted.keys)
                guard !unread.isEmpty else { return messages }
                for await batch in consumer.batches {
                    for message in batch {
                        guard let range = wanted[message.topicPartition] else { continue }
                        if range.contains(message.offset), keep(message) { messages.append(message) }
                        // A compacted topic may not hold the range's last offset: any offset
                        // at or past it ends the partition.
                        if message.offset + 1 >= range.upperBound { unread.remove(message.topicPartition) }
                    }
                    if unread.isEmpty { return messages }
                }
                return nil
            }
            group.addTask {
                try? await Task.sleep(until: start + deadline, clock: clock)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            // Ending the consumer ends `batches`, which no cancellation does.
            await consumer.close()
            await group.waitForAll()
            return first
        }
        guard let messages else {
            throw KafkaError(code: .consume, message: "reading \(topic) took longer than \(deadline)", isRetriable: true)
        }
        return KafkaTopicWindow(
            messages: messages.sorted { ($0.partition, $0.offset) < ($1.partition, $1.offset) }, offsets: reader.offsets, ranges: ranges)
    }
}
