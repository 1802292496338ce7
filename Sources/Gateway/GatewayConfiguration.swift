import Kafka

/// What `payment-worker gateway` runs with (docs/contract.md §8).
public struct GatewayConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8081
    public var kafka: KafkaConfiguration
    /// Named by the settings every process shares.
    public var commandsTopic: String
    public var resultsTopic: String
    /// How long a request waits for its reply before it is answered `202 Accepted`.
    public var replyTimeout: Duration = .seconds(30)
    /// Requests waiting for a reply at once; one more is `503`.
    public var maxPending = 10_000
    /// The worker's body limit: a larger body is `413` before anything is produced.
    public var maxBodyBytes = 16 << 20
    /// How long a reply that came after its request was answered `202` stays to be fetched.
    public var keepReplies: Duration = .seconds(600)
    /// How long a command may take to reach the broker before the request is `503`.
    public var produceTimeout: Duration = .seconds(5)
    /// The commands whose CSV body may be sent as consecutive chunk commands when it is too
    /// large for one message, as their plugins declare.
    public var chunkedImportCommands: Set<String> = []
    /// The commands served and how, as the plugins declare.
    public var routes = GatewayRoutes()
    /// Most lines in one chunk command (the worker's default lines-per-command limit is
    /// 100 000); a chunk also stays under the producer's `message.max.bytes`.
    public var linesPerChunk = 10_000

    public init(kafka: KafkaConfiguration, commandsTopic: String, resultsTopic: String) {
        self.kafka = kafka
        self.commandsTopic = commandsTopic
        self.resultsTopic = resultsTopic
    }
}
