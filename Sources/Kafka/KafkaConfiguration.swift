import CRDKafka
/// Settings every client shares. The typed fields cover what a worker sets in code; any other
/// librdkafka property (SASL, TLS, tuning) goes in `properties`, which is applied last and
/// so wins over a typed field.
public struct KafkaConfiguration: Sendable {
    /// `host:port` pairs for `bootstrap.servers`.
    public var bootstrapServers: [String]
    public var clientID: String
    /// Pass-through librdkafka properties (see librdkafka's CONFIGURATION.md).
    public var properties: [String: String]

    public init(bootstrapServers: [String], clientID: String = "payment-worker", properties: [String: String] = [:]) {
        self.bootstrapServers = bootstrapServers
        self.clientID = clientID
        self.properties = properties
    }

    var baseProperties: [String: String] {
        [
            "bootstrap.servers": bootstrapServers.joined(separator: ","),
            "client.id": clientID,
        ]
    }

    /// Whether a property's value must never be printed: passwords, secrets and key material.
    public static func isSecret(property name: String) -> Bool {
        let name = name.lowercased()
        return ["password", "secret", "key.pem", "keystore", "token", "sasl.jaas", "oauthbearer.config"]
            .contains { name.contains($0) }
    }

    /// librdkafka's `message.max.bytes` as these properties set it, or its default.
    public var messageMaxBytes: Int {
        properties["message.max.bytes"].flatMap { Int($0) } ?? 1_000_000
    }

    /// Room kept in a message for its headers (at most 16 KiB, as the wire contract limits
    /// them) and the record's framing.
    public static let messageHeadroom = 20 << 10

    /// The largest value a message whose key is `keyBytes` long can carry.
    public func maxValueBytes(keyBytes: Int) -> Int {
        max(messageMaxBytes - Self.messageHeadroom - keyBytes, 1)
    }

    /// The largest body of a chunk of a message too large to send whole, with room for a key
    /// of 255 bytes whatever the key: the same body is cut the same way under any key of up
    /// to 255 bytes, so a retry's chunks are the first attempt's.
    public func maxChunkBytes(keyBytes: Int) -> Int {
        maxValueBytes(keyBytes: max(keyBytes, 255))
    }

    /// The given properties with secret values replaced, for logs and `config check`.
    public static func redacted(_ properties: [String: String]) -> [String: String] {
        properties.reduce(into: [:]) { result, entry in
            result[entry.key] = isSecret(property: entry.key) ? "[redacted]" : entry.value
        }
    }
}

/// A producer: idempotent by default, so a retried send after a lost acknowledgement is
/// never written twice.
public struct KafkaProducerConfiguration: Sendable {
    public var common: KafkaConfiguration
    public var idempotent: Bool = true
    /// How long librdkafka keeps retrying one message before reporting it failed.
    public var messageTimeout: Duration = .seconds(300)
    /// How long to wait to fill a batch; a little linger buys much throughput.
    public var linger: Duration = .milliseconds(5)
    /// librdkafka's `compression.type`: lz4 costs little CPU and shrinks CSV replies severalfold.
    public var compression = "lz4"

    public init(common: KafkaConfiguration) {
        self.common = common
    }

    /// Checks every property with librdkafka, without creating a client.
    public func validate() throws {
        rd_kafka_conf_destroy(try RDKafkaClient.makeConf(librdkafkaProperties()))
    }

    func librdkafkaProperties() -> [String: String] {
        var properties = common.baseProperties
        properties["enable.idempotence"] = idempotent ? "true" : "false"
        if idempotent { properties["acks"] = "all" }
        properties["message.timeout.ms"] = String(messageTimeout.milliseconds)
        properties["linger.ms"] = String(linger.milliseconds)
        properties["compression.type"] = compression
        properties.merge(common.properties) { _, passedThrough in passedThrough }
        return properties
    }
}

/// A group consumer that commits only what its owner has marked done.
public struct KafkaConsumerConfiguration: Sendable {
    public enum OffsetReset: String, Sendable {
        case earliest, latest
    }

    public var common: KafkaConfiguration
    public var groupID: String
    /// librdkafka's `group.instance.id`: static membership when set.
    public var instanceID: String?
    /// Where to start in a partition that has no committed offset.
    public var offsetReset: OffsetReset = .earliest
    /// librdkafka's `partition.assignment.strategy`. Cooperative-sticky by default: members
    /// keep the partitions they still own through a rebalance, and give up the others while
    /// the group is stable, so the commit before each revocation goes through.
    public var assignmentStrategy: String = "cooperative-sticky"
    public var sessionTimeout: Duration = .seconds(45)
    public var heartbeatInterval: Duration = .seconds(3)
    /// How often librdkafka commits the offsets its owner has marked done; `commit()` and
    /// every revocation and close commit at once as well.
    public var commitInterval: Duration = .seconds(1)
    /// The most messages handed over in one batch.
    public var maxBatchSize: Int = 500
    /// How many polled messages may wait for the owner before polling stops: backpressure.
    public var maxBufferedMessages: Int = 1_000
    /// How long a fetch may wait at the broker for data (`fetch.wait.max.ms`). librdkafka's
    /// 500 ms default costs nothing on a real broker, which answers when data comes; the dev
    /// broker answers only when the wait ends, so 500 ms would stall every idle moment.
    public var fetchMaxWait: Duration = .milliseconds(50)
    /// librdkafka's prefetch per consumer (`queued.max.messages.kbytes`); its own default,
    /// 64 MiB, is most of a worker's memory when a backlog waits.
    public var prefetchKilobytes: Int = 4_096

    public init(common: KafkaConfiguration, groupID: String) {
        self.common = common
        self.groupID = groupID
    }

    /// Checks every property with librdkafka, without creating a client.
    public func validate() throws {
        rd_kafka_conf_destroy(try RDKafkaClient.makeConf(librdkafkaProperties()))
    }

    func librdkafkaProperties() -> [String: String] {
        var properties = common.baseProperties
        properties["group.id"] = groupID
        if let instanceID { properties["group.instance.id"] = instanceID }
        properties["auto.offset.reset"] = offsetReset.rawValue
        properties["partition.assignment.strategy"] = assignmentStrategy
        properties["queued.max.messages.kbytes"] = String(prefetchKilobytes)
        properties["session.timeout.ms"] = String(sessionTimeout.milliseconds)
        properties["heartbeat.interval.ms"] = String(heartbeatInterval.milliseconds)
        properties["auto.commit.interval.ms"] = String(commitInterval.milliseconds)
        properties["fetch.wait.max.ms"] = String(fetchMaxWait.milliseconds)
        properties.merge(common.properties) { _, passedThrough in passedThrough }
        // Not overridable: librdkafka commits on a timer, but only offsets the owner has
        // stored as done, so nothing is committed that was not handled.
        properties["enable.auto.commit"] = "true"
        properties["enable.auto.offset.store"] = "false"
        return properties
    }
}

extension Duration {
    var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1_000 + attoseconds / 1_000_000_000_000_000
    }
}
