import Kafka
import Logging

/// Where the next (older) page of a topic starts: each partition's first offset not yet
/// shown. Written `partition:offset,...` in page links and API answers.
public struct PageCursor: Sendable, Equatable {
    public var before: [Int32: Int64]

    public init(before: [Int32: Int64] = [:]) {
        self.before = before
    }

    public init?(_ text: String) {
        var before: [Int32: Int64] = [:]
        for part in text.split(separator: ",") {
            let fields = part.split(separator: ":")
            guard fields.count == 2, let partition = Int32(fields[0]), let offset = Int64(fields[1]), offset >= 0 else { return nil }
            before[partition] = offset
        }
        self.before = before
    }

    public var text: String {
        before.sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }.joined(separator: ",")
    }
}

/// One page of a topic, newest first across its partitions, with the messages `matches`
/// keeps; never reads more than `window` messages of a partition (the page's size when
/// nothing is filtered out), so a topic of a million messages opens as fast as one of ten.
struct TopicPage: Sendable {
    var messages: [KafkaConsumerMessage]
    /// Set when older messages remain.
    var next: PageCursor?
    /// Messages looked at to fill the page.
    var scanned: Int
    /// Messages the topic holds now.
    var held: Int64

    static func read(
        topic: String, configuration: KafkaConsumerConfiguration, deadline: Duration, logger: Logger,
        before cursor: PageCursor?, size: Int, window: Int,
        matches: @escaping @Sendable (KafkaConsumerMessage) -> Bool = { _ in true }
    ) async throws -> TopicPage {
        let read = try await KafkaTopicWindow.read(topic: topic, configuration: configuration, deadline: deadline, logger: logger) { partition, held in
            let end = min(cursor?.before[partition.partition] ?? held.upperBound, held.upperBound)
            let start = max(held.lowerBound, end - Int64(max(1, window)))
            return start..<end
        }
        // Newest first; a message without a time sorts by its offset within its partition.
        let newestFirst = read.messages.sorted {
            ($0.timestamp ?? 0, $0.offset, -$0.partition) > ($1.timestamp ?? 0, $1.offset, -$1.partition)
        }
        var taken: [KafkaConsumerMessage] = []
        var consumed = 0
        for message in newestFirst {
            if taken.count == size { break }
            consumed += 1
            if matches(message) { taken.append(message) }
        }
        // Each partition continues below the oldest message looked at, or, when none of it
        // was, where its window ended.
        var before: [Int32: Int64] = [:]
        for (partition, range) in read.ranges { before[partition.partition] = range.upperBound }
        for message in newestFirst.prefix(consumed) {
            before[message.partition] = min(before[message.partition] ?? message.offset, message.offset)
        }
        let remains = read.offsets.contains { partition, held in (before[partition.partition] ?? held.lowerBound) > held.lowerBound }
        return TopicPage(
            messages: taken, next: remains ? PageCursor(before: before) : nil, scanned: consumed,
            held: read.offsets.values.reduce(0) { $0 + Int64($1.count) })
    }
}
