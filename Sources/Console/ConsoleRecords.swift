import Foundation
import Kafka

/// Where a message is: the console's way to name it on pages and in the API.
public struct MessagePlace: Codable, Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    /// The broker's time for it, ISO 8601.
    public var time: String?

    init(topic: String, partition: Int32, offset: Int64, time: String?) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.time = time
    }

    init(_ message: KafkaConsumerMessage) {
        topic = message.topic
        partition = message.partition
        offset = message.offset
        time = message.timestamp.map { KafkaTimestamp.iso8601(milliseconds: $0) }
    }
}

/// An error event from the errors topic (docs/contract.md §4), as pages and the API show it.
public struct ErrorEventRecord: Codable, Sendable {
    public struct Source: Codable, Sendable, Hashable {
        public var topic: String?
        public var partition: Int32?
        public var offset: Int64?
    }

    public var place: MessagePlace
    public var code: String
    public var message: String
    public var command: String?
    public var apiid: String?
    public var idempotencyKey: String?
    public var correlationId: String?
    public var source: Source?
    public var at: String?

    /// The event's JSON, as the worker writes it.
    private struct Body: Decodable {
        var code: String
        var message: String?
        var command: String?
        var apiid: String?
        var idempotency_key: String?
        var correlation_id: String?
        var source: Source?
        var at: String?
    }

    private static let decoder = JSONDecoder()

    /// Nil when the message is not an error event.
    init?(_ kafka: KafkaConsumerMessage) {
        guard let value = kafka.value, let body = try? Self.decoder.decode(Body.self, from: Data(value)) else { return nil }
        place = MessagePlace(kafka)
        code = body.code
        message = body.message ?? ""
        command = body.command
        apiid = body.apiid
        idempotencyKey = body.idempotency_key
        correlationId = body.correlation_id
        source = body.source
        at = body.at
    }
}

/// Which error events a page shows: every field given must be equal.
public struct ErrorFilter: Sendable, Equatable {
    public var code: String?
    public var command: String?
    public var apiid: String?

    public init(code: String? = nil, command: String? = nil, apiid: String? = nil) {
        self.code = code.flatMap { $0.isEmpty ? nil : $0 }
        self.command = command.flatMap { $0.isEmpty ? nil : $0 }
        self.apiid = apiid.flatMap { $0.isEmpty ? nil : $0 }
    }

    public var isEmpty: Bool { code == nil && command == nil && apiid == nil }

    func matches(_ event: ErrorEventRecord) -> Bool {
        (code == nil || event.code == code) && (command == nil || event.command == command) && (apiid == nil || event.apiid == apiid)
    }
}

/// A header as the console shows it: credentials redacted.
public struct ShownHeader: Codable, Sendable, Hashable {
    public var name: String
    public var value: String
}

/// Any message shown in full (a DLQ message, a trace's finds): its place, key, headers and
/// body, credentials redacted.
public struct ShownMessage: Codable, Sendable {
    public var place: MessagePlace
    public var key: String?
    public var headers: [ShownHeader]
    public var body: String
    public var bodyTruncated: Bool

    init(_ message: KafkaConsumerMessage) {
        place = MessagePlace(message)
        key = message.key.map { String(decoding: $0, as: UTF8.self) }
        headers = message.headers.map { ShownHeader(name: $0.name, value: Redaction.header(name: $0.name, value: $0.stringValue ?? "(binary)")) }
        (body, bodyTruncated) = Redaction.body(message.value)
    }

    func header(_ name: String) -> String? {
        headers.first { $0.name == name }?.value
    }
}

/// A message in the DLQ with why it is there: the error event published with it, matched by
/// correlation id or idempotency key.
public struct DeadLetterRecord: Codable, Sendable {
    public var partition: Int32
    public var offset: Int64
    public var time: String?
    public var command: String?
    public var key: String?
    public var idempotencyKey: String?
    public var correlationId: String?
    /// Where the command was read from, as its error event says.
    public var source: ErrorEventRecord.Source?
    /// `CODE: message` of its error event, when one was found in the errors topic's window.
    public var reason: String?

    init(_ message: KafkaConsumerMessage, reasons: DeadLetterReasons) {
        partition = message.partition
        offset = message.offset
        time = message.timestamp.map { KafkaTimestamp.iso8601(milliseconds: $0) }
        command = message.headers.string(named: "command")
        key = message.key.map { String(decoding: $0, as: UTF8.self) }
        idempotencyKey = message.headers.string(named: "idempotency-key")
        correlationId = message.headers.string(named: "correlation-id")
        let event = reasons.event(for: message)
        source = event?.source
        reason = event.map { "\($0.code): \($0.message)" }
    }
}

/// Why each dead letter is there: the error event published with it, matched on the
/// correlation id or idempotency key the two share.
public struct DeadLetterReasons: Sendable {
    private var byCorrelationId: [String: ErrorEventRecord] = [:]
    private var byIdempotencyKey: [String: ErrorEventRecord] = [:]

    /// `events` oldest first: the latest event for an id wins.
    public init(_ events: [KafkaConsumerMessage]) {
        for message in events {
            guard let event = ErrorEventRecord(message) else { continue }
            if let id = event.correlationId { byCorrelationId[id] = event }
            if let key = event.idempotencyKey { byIdempotencyKey[key] = event }
        }
    }

    public func event(for letter: KafkaConsumerMessage) -> ErrorEventRecord? {
        if let id = letter.headers.string(named: "correlation-id"), let event = byCorrelationId[id] { return event }
        if let key = letter.headers.string(named: "idempotency-key"), let event = byIdempotencyKey[key] { return event }
        return nil
    }

    /// `CODE: message`, as `dlq list` prints it.
    public func reason(for letter: KafkaConsumerMessage) -> String? {
        event(for: letter).map { "\($0.code): \($0.message)" }
    }
}

/// A consumed message's broker time, as the console and the tools show it.
public enum KafkaTimestamp {
    public static func iso8601(milliseconds: Int64) -> String {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000).formatted(.iso8601)
    }
}
