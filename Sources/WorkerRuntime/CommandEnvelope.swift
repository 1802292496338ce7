import Kafka

/// A command message as the runtime reads it: headers by lower-case name, where it came from.
struct CommandEnvelope: Sendable {
    let message: KafkaConsumerMessage
    let headers: [String: String]

    init(_ message: KafkaConsumerMessage) {
        self.message = message
        var headers: [String: String] = [:]
        for header in message.headers {
            let name = header.name.lowercased()
            if headers[name] == nil, let value = header.stringValue { headers[name] = value }
        }
        self.headers = headers
    }

    var command: String? { headers["command"].flatMap { $0.isEmpty ? nil : $0 } }

    /// `<topic>/<partition>/<offset>` of the command.
    var source: String { "\(message.topic)/\(message.partition)/\(message.offset)" }

    /// The client's key, or the message's position when it gave none.
    var idempotencyKey: String { headers["idempotency-key"].flatMap { $0.isEmpty ? nil : $0 } ?? source }

    var correlationId: String? { headers["correlation-id"] }

    /// A client can match a reply to this command only through these.
    var isMatchable: Bool { headers["idempotency-key"] != nil || correlationId != nil }
}
