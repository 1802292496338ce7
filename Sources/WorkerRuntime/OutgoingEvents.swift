import Foundation
import Kafka
import PaymentsDomain

/// Builds what the worker publishes: replies, error events and DLQ copies (docs/contract.md §2, §4).
struct OutgoingEvents: Sendable {
    let topics: WorkerConfiguration.Topics
    /// The producer's `message.max.bytes`: a larger reply is published in parts.
    var messageMaxBytes = 1_000_000

    /// The reply, as one message or, when its CSV body is too large for one, as whole-CSV
    /// parts in order, each with `reply-part: i/n` (docs/contract.md §4). A replay cuts the same
    /// stored body the same way.
    func replies(to envelope: CommandEnvelope, command: String, reply: StoredReply, replayed: Bool) -> [KafkaProducerMessage] {
        let single = self.reply(to: envelope, command: command, reply: reply, replayed: replayed)
        let maxBody = messageMaxBytes - KafkaConfiguration.messageHeadroom - (envelope.message.key?.count ?? 0)
        guard reply.body.count > maxBody, reply.contentType.hasPrefix("text/csv") else { return [single] }
        let parts = ReplyParts.split(csv: reply.body, maxBytes: max(maxBody, 1))
        return parts.enumerated().map { index, body in
            var part = single
            part.value = Array(body)
            part.headers.append(KafkaHeader(name: "reply-part", string: "\(index + 1)/\(parts.count)"))
            return part
        }
    }

    // Made once: every reply carries one of them.
    private static let replayedTrue = KafkaHeader(name: "replayed", string: "true")
    private static let replayedFalse = KafkaHeader(name: "replayed", string: "false")

    /// The reply on the results topic, keyed like the command.
    func reply(to envelope: CommandEnvelope, command: String, reply: StoredReply, replayed: Bool) -> KafkaProducerMessage {
        var headers: [KafkaHeader] = []
        headers.reserveCapacity(10)
        headers.append(KafkaHeader(name: "command", string: command))
        headers.append(KafkaHeader(name: "status", string: reply.status))
        headers.append(KafkaHeader(name: "idempotency-key", string: envelope.idempotencyKey))
        if let correlationId = envelope.correlationId { headers.append(KafkaHeader(name: "correlation-id", string: correlationId)) }
        headers.append(KafkaHeader(name: "source", string: envelope.source))
        headers.append(replayed ? Self.replayedTrue : Self.replayedFalse)
        headers.append(KafkaHeader(name: "content-type", string: reply.contentType))
        if reply.status == "error" {
            let error = Self.error(of: reply)
            headers.append(KafkaHeader(name: "error-code", string: error.code.rawValue))
            headers.append(KafkaHeader(name: "error-message", string: error.message))
        }
        return KafkaProducerMessage(topic: topics.results, key: envelope.message.key, value: reply.body, headers: headers)
    }

    /// The error event for a reply whose status is `error`, or for a poison message.
    func errorEvent(for envelope: CommandEnvelope, command: String?, error: DomainError, at time: Date = Date()) -> KafkaProducerMessage {
        let message = envelope.message
        let body = """
            {"code":\(JSONText.string(error.code.rawValue)),"message":\(JSONText.string(error.message)),\
            "command":\(JSONText.string(command)),"idempotency_key":\(JSONText.string(envelope.idempotencyKey)),\
            "correlation_id":\(JSONText.string(envelope.correlationId)),\
            "apiid":\(JSONText.string(envelope.headers["apiid"].flatMap { CommandEnvelope.fitsKeyLimit($0) ? $0 : nil })),\
            "source":{"topic":\(JSONText.string(message.topic)),"partition":\(message.partition),"offset":\(message.offset)},\
            "at":\(JSONText.string(Self.timestamp(time)))}
            """
        return KafkaProducerMessage(
            topic: topics.errors, key: message.key, value: Array(body.utf8),
            headers: [KafkaHeader(name: "content-type", string: "application/json")])
    }

    /// The original message, unchanged.
    func dlqCopy(of envelope: CommandEnvelope) -> KafkaProducerMessage {
        let message = envelope.message
        return KafkaProducerMessage(topic: topics.dlq, key: message.key, value: message.value, headers: message.headers)
    }

    /// The code and message of an error reply, from its fields.
    static func error(of reply: StoredReply) -> DomainError {
        reply.error ?? DomainError(.internal, "an error reply recorded without its code")
    }

    static func timestamp(_ time: Date) -> String {
        UTCDateTime(secondsSince1970: Int64(time.timeIntervalSince1970)).crm + "Z"
    }
}
