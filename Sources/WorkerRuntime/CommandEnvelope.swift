import Kafka

/// A command message as the runtime reads it: headers by lower-case name, where it came from.
struct CommandEnvelope: Sendable {
    let message: KafkaConsumerMessage
    let headers: [String: String]
    /// `<topic>/<partition>/<offset>` of the command.
    let source: String
    /// The client's key, or the message's position when it gave none.
    let idempotencyKey: String

    init(_ message: KafkaConsumerMessage) {
        self.message = message
        var headers: [String: String] = [:]
        headers.reserveCapacity(message.headers.count)
        for header in message.headers {
            // Clients send lower-case names; only the others pay for lowercasing.
            let name = header.name.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") })
                ? header.name.lowercased() : header.name
            if headers[name] == nil, let value = header.stringValue { headers[name] = value }
        }
        self.headers = headers
        source = "\(message.topic)/\(message.partition)/\(message.offset)"
        idempotencyKey = headers["idempotency-key"].flatMap { $0.isEmpty ? nil : $0 } ?? source
    }

    var command: String? { headers["command"].flatMap { $0.isEmpty ? nil : $0 } }

    var correlationId: String? { headers["correlation-id"] }

    /// A client can match a reply to this command only through these.
    var isMatchable: Bool { headers["idempotency-key"] != nil || correlationId != nil }
}
