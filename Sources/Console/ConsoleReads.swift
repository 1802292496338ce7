import Foundation
import Kafka
import Logging

/// Every read the console's pages make of Kafka, each a bounded window outside any group.
public struct ConsoleReads: Sendable {
    let configuration: ConsoleConfiguration
    let reader: WindowReader

    public init(configuration: ConsoleConfiguration, logger: Logger) {
        self.configuration = configuration
        var consumer = KafkaConsumerConfiguration(common: configuration.kafka, groupID: "payment-console")
        // Assigned, never subscribed, and no offset is ever stored: nothing is committed.
        consumer.maxBatchSize = 1_000
        consumer.maxBufferedMessages = 10_000
        reader = WindowReader(configuration: consumer, deadline: configuration.readDeadline, logger: logger)
    }

    struct ErrorsPage: Codable, Sendable {
        var events: [ErrorEventRecord]
        var next: String?
        var scanned: Int
    }

    func errors(filter: ErrorFilter, before: PageCursor?) async throws -> ErrorsPage {
        let page = try await TopicPage.read(
            topic: configuration.topics.errors, reader: reader, before: before, size: configuration.pageSize,
            window: filter.isEmpty ? configuration.pageSize : configuration.scanWindow
        ) { message in ErrorEventRecord(message).map(filter.matches) ?? false }
        return ErrorsPage(events: page.messages.compactMap(ErrorEventRecord.init), next: page.next?.text, scanned: page.scanned)
    }

    public struct DLQPage: Codable, Sendable {
        public var messages: [DeadLetterRecord]
        public var next: String?
        /// Messages the DLQ holds now.
        public var depth: Int64
    }

    public func dlq(before: PageCursor?) async throws -> DLQPage {
        async let reasons = recentReasons()
        let page = try await TopicPage.read(
            topic: configuration.topics.dlq, reader: reader, before: before, size: configuration.pageSize, window: configuration.pageSize)
        let known = try await reasons
        return DLQPage(messages: page.messages.map { DeadLetterRecord($0, reasons: known) }, next: page.next?.text, depth: page.held)
    }

    /// One DLQ message in full, with why it is there; nil when the DLQ does not hold it.
    func deadLetter(at place: DLQPlace) async throws -> (message: ShownMessage, record: DeadLetterRecord)? {
        async let reasons = recentReasons()
        guard let message = try await deadLetters(at: [place]).first else { return nil }
        return (ShownMessage(message), DeadLetterRecord(message, reasons: try await reasons))
    }

    /// These DLQ messages with why each is there.
    func records(of letters: [KafkaConsumerMessage]) async throws -> [DeadLetterRecord] {
        let reasons = try await recentReasons()
        return letters.map { DeadLetterRecord($0, reasons: reasons) }
    }

    /// The DLQ messages at these places, as far as it holds them.
    func deadLetters(at places: Set<DLQPlace>) async throws -> [KafkaConsumerMessage] {
        let wanted = Dictionary(grouping: places, by: \.partition).mapValues { Set($0.map(\.offset)) }
        let window = try await reader.read(configuration.topics.dlq, keeping: { wanted[$0.partition]?.contains($0.offset) == true }) { partition, _ in
            guard let offsets = wanted[partition.partition], let low = offsets.min(), let high = offsets.max() else { return 0..<0 }
            return low..<(high + 1)
        }
        return window.messages
    }

    /// The latest DLQ messages, oldest first, at most `limit`.
    func latestDeadLetters(limit: Int) async throws -> [KafkaConsumerMessage] {
        let page = try await TopicPage.read(topic: configuration.topics.dlq, reader: reader, before: nil, size: limit, window: limit)
        return page.messages.reversed()
    }

    func dlqDepth() async throws -> Int64 {
        let window = try await reader.read(configuration.topics.dlq) { _, held in held.upperBound..<held.upperBound }
        return window.offsets.values.reduce(0) { $0 + Int64($1.count) }
    }

    private func recentReasons() async throws -> DeadLetterReasons {
        let window = try await reader.read(configuration.topics.errors) { _, held in
            max(held.lowerBound, held.upperBound - Int64(configuration.scanWindow))..<held.upperBound
        }
        return DeadLetterReasons(window.messages.sorted { ($0.timestamp ?? 0) < ($1.timestamp ?? 0) })
    }

    struct Trace: Codable, Sendable {
        var id: String
        var commands: [ShownMessage]
        var replies: [ShownMessage]
        var errorEvents: [ErrorEventRecord]
        var dlq: [ShownMessage]
        /// Messages of each partition looked through, newest first.
        var window: Int
    }

    /// Everything about one command: by correlation id or idempotency key (a chunked
    /// import's `ID/n` parts included), in the latest `traceWindow` messages of each
    /// partition of the commands, results, errors and DLQ topics. Only what matches is kept.
    func trace(id: String) async throws -> Trace {
        let topics = configuration.topics
        let carriesID: @Sendable (KafkaConsumerMessage) -> Bool = { message in
            message.headers.contains { header in
                guard header.name == "correlation-id" || header.name == "idempotency-key", let value = header.stringValue else { return false }
                return value == id || value.hasPrefix(id + "/")
            }
        }
        async let commands = recent(topics.commands, matching: carriesID)
        async let replies = recent(topics.results, matching: carriesID)
        async let dlq = recent(topics.dlq, matching: carriesID)
        let events = try await recent(topics.errors) { message in
            guard let event = ErrorEventRecord(message) else { return false }
            return [event.correlationId, event.idempotencyKey].contains { $0 == id || $0?.hasPrefix(id + "/") == true }
        }
        return Trace(
            id: id, commands: try await commands.map(ShownMessage.init), replies: try await replies.map(ShownMessage.init),
            errorEvents: events.compactMap(ErrorEventRecord.init), dlq: try await dlq.map(ShownMessage.init),
            window: configuration.traceWindow)
    }

    private func recent(_ topic: String, matching: @escaping @Sendable (KafkaConsumerMessage) -> Bool) async throws -> [KafkaConsumerMessage] {
        let window = try await reader.read(topic, keeping: matching) { _, held in
            max(held.lowerBound, held.upperBound - Int64(configuration.traceWindow))..<held.upperBound
        }
        return window.messages.sorted { ($0.timestamp ?? 0, $0.offset) < ($1.timestamp ?? 0, $1.offset) }
    }
}

/// A DLQ message's place, as pages (`P:O`), paths (`/dlq/P/O`) and the API name it.
public struct DLQPlace: Hashable, Sendable, Codable, CustomStringConvertible {
    public var partition: Int32
    public var offset: Int64

    public init(partition: Int32, offset: Int64) {
        self.partition = partition
        self.offset = offset
    }

    /// `PARTITION:OFFSET`, both not negative (and the offset below the largest, so that the
    /// one after it can be named); nil otherwise.
    public init?(_ text: String) {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let partition = Int32(parts[0]), let offset = Int64(parts[1]) else { return nil }
        self.init(checkedPartition: partition, offset: offset)
    }

    public init?(checkedPartition partition: Int32, offset: Int64) {
        guard partition >= 0, offset >= 0, offset < .max else { return nil }
        self.init(partition: partition, offset: offset)
    }

    public var description: String { "\(partition):\(offset)" }
}
