import Kafka

/// A command message as the runtime reads it: headers by lower-case name, where it came from,
/// and whether its headers are within their limits (docs/contract.md §3). A class: a command's
/// envelope travels through steps, pending writes and replies, and a struct of a dozen
/// references cost a retain for each of them at every copy.
final class CommandEnvelope: Sendable {
    /// `idempotency-key` and `correlation-id` hold at most this many characters.
    static let maxKeyCharacters = 255
    /// All header names and values together hold at most this many bytes.
    static let maxHeaderBytes = 16 << 10

    let message: KafkaConsumerMessage
    let headers: [String: String]
    /// `<topic>/<partition>/<offset>` of the command.
    let source: String
    /// The client's key, or `<cluster-id>/<source>` when it gave none (or one over its limit):
    /// the cluster id keeps a new cluster's reused offsets from meeting old records.
    let idempotencyKey: String
    /// The correlation id, unless over its limit: nothing oversized is echoed.
    let correlationId: String?
    /// What is wrong with the headers, when something is: the command is then MALFORMED.
    let headerFault: String?

    init(_ message: KafkaConsumerMessage, clusterID: String = "") {
        self.message = message
        var headers: [String: String] = [:]
        headers.reserveCapacity(message.headers.count)
        var headerBytes = 0
        for header in message.headers {
            headerBytes += header.name.utf8.count + (header.value?.count ?? 0)
            // Clients send lower-case names; only the others pay for lowercasing.
            let name = header.name.utf8.contains(where: { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") })
                ? header.name.lowercased() : header.name
            if headers[name] == nil, let value = header.stringValue { headers[name] = value }
        }
        self.headers = headers
        source = "\(message.topic)/\(message.partition)/\(message.offset)"
        let givenKey = headers["idempotency-key"].flatMap { $0.isEmpty ? nil : $0 }
        let givenCorrelation = headers["correlation-id"]
        let headersFit = headerBytes <= Self.maxHeaderBytes
        let keyFits = givenKey.map(Self.fitsKeyLimit) ?? true
        let correlationFits = givenCorrelation.map(Self.fitsKeyLimit) ?? true
        if !headersFit {
            headerFault = "the headers are \(headerBytes) bytes together; the limit is \(Self.maxHeaderBytes)"
        } else if !keyFits {
            headerFault = "the idempotency-key header is longer than \(Self.maxKeyCharacters) characters"
        } else if !correlationFits {
            headerFault = "the correlation-id header is longer than \(Self.maxKeyCharacters) characters"
        } else {
            headerFault = nil
        }
        if let givenKey, keyFits, headersFit {
            idempotencyKey = givenKey
        } else {
            idempotencyKey = clusterID.isEmpty ? source : "\(clusterID)/\(source)"
        }
        correlationId = correlationFits && headersFit ? givenCorrelation : nil
    }

    /// Whether a key is within `maxKeyCharacters`. Counting characters walks grapheme
    /// clusters; a key of no more bytes than the limit cannot have more characters, so only a
    /// longer one is counted.
    static func fitsKeyLimit(_ key: String) -> Bool {
        key.utf8.count <= maxKeyCharacters || key.count <= maxKeyCharacters
    }

    var command: String? { headers["command"].flatMap { $0.isEmpty ? nil : $0 } }

    /// A client can match a reply to this command only through these.
    var isMatchable: Bool { headers["idempotency-key"] != nil || correlationId != nil }
}
