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
        topic: String, reader: WindowReader, before cursor: PageCursor?, size: Int, window: Int,
        matches: @escaping @Sendable (KafkaConsumerMessage) -> Bool = { _ in true }
    ) async throws -> TopicPage {
        let read = try await reader.read(topic) { partition, held in
            range(held: held, before: cursor?.before[partition.partition], window: window)
        }
        let page = merge(read.messages, size: size, matches: matches)
        var before: [Int32: Int64] = [:]
        var byPartition: [Int32: Int] = [:]
        for message in read.messages { byPartition[message.partition, default: 0] += 1 }
        for (partition, range) in read.ranges {
            let held = byPartition[partition.partition] ?? 0
            let consumed = page.consumed[partition.partition] ?? []
            // Each partition goes on below the oldest message looked at; one whose window was
            // looked at whole (or held nothing to show) goes on below its window.
            before[partition.partition] = consumed.count == held ? range.lowerBound : (consumed.min() ?? range.upperBound)
        }
        let remains = read.offsets.contains { partition, held in (before[partition.partition] ?? held.lowerBound) > held.lowerBound }
        return TopicPage(
            messages: page.taken, next: remains ? PageCursor(before: before) : nil,
            scanned: page.consumed.values.reduce(0) { $0 + $1.count }, held: read.offsets.values.reduce(0) { $0 + Int64($1.count) })
    }

    /// The offsets of a partition holding `held` that a page reads: `window` of them below
    /// `before` (the partition's end without a cursor). A cursor from an older page may point
    /// outside what the partition holds now (retention moved on): the range stays inside it.
    static func range(held: Range<Int64>, before: Int64?, window: Int) -> Range<Int64> {
        let end = min(max(before ?? held.upperBound, held.lowerBound), held.upperBound)
        return max(held.lowerBound, end - Int64(max(1, window)))..<end
    }

    /// Newest first across partitions, each partition's messages from its highest offset down
    /// (so what was looked at in a partition is always a run from its top, whatever the
    /// producers' clocks say): the first `size` that `matches` keeps, and the offsets looked at.
    static func merge(
        _ messages: [KafkaConsumerMessage], size: Int, matches: (KafkaConsumerMessage) -> Bool
    ) -> (taken: [KafkaConsumerMessage], consumed: [Int32: [Int64]]) {
        var queues = Dictionary(grouping: messages, by: \.partition).mapValues { $0.sorted { $0.offset > $1.offset } }
        var heads = queues.mapValues { _ in 0 }
        var taken: [KafkaConsumerMessage] = []
        var consumed: [Int32: [Int64]] = [:]
        while taken.count < size {
            let next = heads.compactMap { partition, index -> (Int32, KafkaConsumerMessage)? in
                guard let queue = queues[partition], index < queue.count else { return nil }
                return (partition, queue[index])
            }.max { ($0.1.timestamp ?? 0, -$0.0) < ($1.1.timestamp ?? 0, -$1.0) }
            guard let (partition, message) = next else { break }
            heads[partition, default: 0] += 1
            consumed[partition, default: []].append(message.offset)
            if matches(message) { taken.append(message) }
        }
        queues.removeAll()
        return (taken, consumed)
    }
}

/// Reads bounded windows of topics with the console's consumer settings and deadline.
struct WindowReader: Sendable {
    let configuration: KafkaConsumerConfiguration
    let deadline: Duration
    let logger: Logger

    func read(
        _ topic: String, keeping keep: @escaping @Sendable (KafkaConsumerMessage) -> Bool = { _ in true },
        choose: @escaping @Sendable (KafkaTopicPartition, Range<Int64>) -> Range<Int64>
    ) async throws -> KafkaTopicWindow {
        try await KafkaTopicWindow.read(topic: topic, configuration: configuration, deadline: deadline, logger: logger, keeping: keep, choose: choose)
    }
}
