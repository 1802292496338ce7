import Foundation
import Kafka
import Logging
import Synchronization

/// What one replayed DLQ message became: where it went on the commands topic and the reply,
/// error event and new DLQ copy the workers published for it within the replay timeout.
public struct ReplayOutcome: Codable, Sendable {
    public struct Reply: Codable, Sendable {
        public var status: String
        /// True when the command had been applied before: answered from its record.
        public var replayed: Bool
        /// How many messages the reply took (a large CSV reply goes in parts).
        public var parts: Int
        /// The reply's (first part's) body, credentials redacted.
        public var body: String
        public var place: MessagePlace
    }

    public var partition: Int32
    public var offset: Int64
    public var command: String?
    /// Where the replay was put on the commands topic.
    public var replayedAs: MessagePlace?
    public var reply: Reply?
    public var errorEvent: ErrorEventRecord?
    /// The replay's own DLQ copy, when it went back there.
    public var dlqCopy: MessagePlace?
    /// What came of it, in words: the reply's status, `back in the DLQ`, or why nothing is known.
    public var outcome: String
}

/// A dead letter as a command again: key, body and headers as they were, and an
/// idempotency key naming its place in the DLQ when it had none, so that replaying it twice
/// is answered from the idempotency record the second time. `dlq replay` and the console
/// both replay through this.
public enum DeadLetterReplay {
    public static func command(replaying letter: KafkaConsumerMessage, onto topic: String) -> KafkaProducerMessage {
        var headers = letter.headers
        if headers.string(named: "idempotency-key") == nil {
            headers.append(KafkaHeader(name: "idempotency-key", string: "\(letter.topic)/\(letter.partition)/\(letter.offset)"))
        }
        return KafkaProducerMessage(topic: topic, key: letter.key, value: letter.value, headers: headers)
    }
}

/// Puts DLQ messages back on the commands topic, key, body and headers as they were, and
/// waits for what the workers make of each. A message keeps its idempotency key (one without
/// is given one naming its place in the DLQ, as `dlq replay` does), so a command applied
/// before is answered `replayed`; one without a correlation id is given one, so that its
/// reply can be told apart.
struct DLQReplay: Sendable {
    let configuration: ConsoleConfiguration
    let producer: KafkaProducer
    let logger: Logger

    func replay(_ letters: [KafkaConsumerMessage]) async throws -> [ReplayOutcome] {
        guard !letters.isEmpty else { return [] }
        let topics = configuration.topics
        // Following the answers' topics from their ends before anything is sent: nothing
        // answered is missed, nothing older is read.
        let follower = try await KafkaConsumer.fromEnd(
            of: [topics.results, topics.errors, topics.dlq],
            configuration: KafkaConsumerConfiguration(common: configuration.kafka, groupID: "payment-console-replay"),
            logger: logger, timeout: configuration.readDeadline)
        var outcomes: [ReplayOutcome] = []
        var byCorrelation: [String: [Int]] = [:]
        var commands: [KafkaProducerMessage] = []
        for letter in letters {
            var command = DeadLetterReplay.command(replaying: letter, onto: topics.commands)
            if command.headers.string(named: "correlation-id") == nil {
                command.headers.append(KafkaHeader(name: "correlation-id", string: "dlq-replay-\(UUID().uuidString.lowercased())"))
            }
            if let correlation = command.headers.string(named: "correlation-id") { byCorrelation[correlation, default: []].append(outcomes.count) }
            outcomes.append(ReplayOutcome(
                partition: letter.partition, offset: letter.offset, command: command.headers.string(named: "command"),
                outcome: "no answer within \(configuration.replayTimeout)"))
            commands.append(command)
        }
        let reports: [KafkaDeliveryReport]
        do {
            reports = try await producer.sendAll(commands)
        } catch {
            await follower.close()
            throw error
        }
        var bySource: [KafkaTopicPartition: [Int64: Int]] = [:]
        for (index, report) in reports.enumerated() where index < outcomes.count {
            outcomes[index].replayedAs = MessagePlace(topic: report.topic, partition: report.partition, offset: report.offset, time: nil)
            bySource[KafkaTopicPartition(topic: report.topic, partition: report.partition), default: [:]][report.offset] = index
        }
        let deadline = ContinuousClock.now + configuration.replayTimeout
        let collected = await collect(from: follower, until: deadline, outcomes: outcomes, byCorrelation: byCorrelation, bySource: bySource)
        return collected
    }

    /// Reads the answers until each replay is settled: an `ok` or `partial` reply, or a DLQ
    /// copy with its error event. An `error` reply with its error event may still be poison
    /// whose DLQ copy is on its way (the worker publishes the three together), so once every
    /// replay is answered the answers are read for `settling` more, at most to the deadline.
    private func collect(
        from follower: KafkaConsumer, until deadline: ContinuousClock.Instant, outcomes: [ReplayOutcome],
        byCorrelation: [String: [Int]], bySource: [KafkaTopicPartition: [Int64: Int]]
    ) async -> [ReplayOutcome] {
        let topics = configuration.topics
        let progress = ReplayProgress(outcomes: outcomes, finishBy: deadline)
        let settling = Self.settling
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                if outcomes.allSatisfy(Self.isSettled) { return }
                for await batch in follower.batches {
                    let settled = progress.state.withLock { progress in
                        for message in batch {
                            Self.take(message, topics: topics, into: &progress.outcomes, byCorrelation: byCorrelation, bySource: bySource)
                        }
                        if progress.outcomes.allSatisfy(Self.isAnswered) {
                            progress.finishBy = min(progress.finishBy, .now + settling)
                        }
                        return progress.outcomes.allSatisfy(Self.isSettled)
                    }
                    if settled { return }
                }
            }
            group.addTask {
                while ContinuousClock.now < progress.state.withLock({ $0.finishBy }) {
                    guard (try? await Task.sleep(for: .milliseconds(50))) != nil else { return }
                }
            }
            // Whichever ends first; closing the follower ends the reader's loop.
            await group.next()
            group.cancelAll()
            await follower.close()
        }
        return progress.state.withLock { $0.outcomes }.map { outcome in
            var outcome = outcome
            outcome.outcome = Self.describe(outcome) ?? outcome.outcome
            return outcome
        }
    }

    static let settling: Duration = .seconds(1)

    /// Files one answer under the replay it answers: a reply by its `source` header and an
    /// error event by its `source`, the places they name on the commands topic; a DLQ copy
    /// (the replayed message itself) by its correlation id, to the first replay of that id
    /// without one.
    private static func take(
        _ message: KafkaConsumerMessage, topics: ConsoleConfiguration.Topics, into outcomes: inout [ReplayOutcome],
        byCorrelation: [String: [Int]], bySource: [KafkaTopicPartition: [Int64: Int]]
    ) {
        switch message.topic {
        case topics.results:
            // A reply in parts is shown by its first: the status is on every part, and the
            // page shows a body's start only.
            let part = message.headers.string(named: "reply-part")
            guard let index = replay(at: message.headers.string(named: "source"), bySource: bySource),
                  part == nil || part?.hasPrefix("1/") == true else { return }
            outcomes[index].reply = ReplayOutcome.Reply(
                status: message.headers.string(named: "status") ?? "",
                replayed: message.headers.string(named: "replayed") == "true",
                parts: part.flatMap { $0.split(separator: "/").last.flatMap { Int($0) } } ?? 1,
                body: Redaction.body(message.value).text, place: MessagePlace(message))
        case topics.errors:
            guard let event = ErrorEventRecord(message) else { return }
            let bySourcePlace = event.source.flatMap { source -> Int? in
                guard let topic = source.topic, let partition = source.partition, let offset = source.offset else { return nil }
                return bySource[KafkaTopicPartition(topic: topic, partition: partition)]?[offset]
            }
            guard let index = bySourcePlace else { return }
            outcomes[index].errorEvent = event
        default:
            guard let id = message.headers.string(named: "correlation-id"),
                  let index = byCorrelation[id]?.first(where: { outcomes[$0].dlqCopy == nil }) else { return }
            outcomes[index].dlqCopy = MessagePlace(message)
        }
    }

    /// The replay a reply's `source` header (`<topic>/<partition>/<offset>`) names.
    private static func replay(at source: String?, bySource: [KafkaTopicPartition: [Int64: Int]]) -> Int? {
        guard let parts = source?.split(separator: "/"), parts.count >= 3,
              let partition = Int32(parts[parts.count - 2]), let offset = Int64(parts[parts.count - 1]) else { return nil }
        let topic = parts.dropLast(2).joined(separator: "/")
        return bySource[KafkaTopicPartition(topic: topic, partition: partition)]?[offset]
    }

    /// Nothing more will come of it.
    static func isSettled(_ outcome: ReplayOutcome) -> Bool {
        if outcome.dlqCopy != nil && outcome.errorEvent != nil { return true }
        return outcome.reply.map { ["ok", "partial"].contains($0.status) } ?? false
    }

    /// Answered, though a DLQ copy may still come.
    static func isAnswered(_ outcome: ReplayOutcome) -> Bool {
        isSettled(outcome) || (outcome.reply != nil && outcome.errorEvent != nil)
    }

    static func describe(_ outcome: ReplayOutcome) -> String? {
        if outcome.dlqCopy != nil {
            return "back in the DLQ" + (outcome.errorEvent.map { " (\($0.code): \($0.message))" } ?? "")
        }
        guard let reply = outcome.reply else { return nil }
        return reply.status + (reply.replayed ? " (already applied: answered from its record)" : "")
    }
}

/// The replays' answers so far, and when to stop waiting for more: shared by the reader of
/// the answers and the timer.
final class ReplayProgress: Sendable {
    let state: Mutex<(outcomes: [ReplayOutcome], finishBy: ContinuousClock.Instant)>

    init(outcomes: [ReplayOutcome], finishBy: ContinuousClock.Instant) {
        state = Mutex((outcomes, finishBy))
    }
}
