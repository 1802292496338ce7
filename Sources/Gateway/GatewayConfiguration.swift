import Kafka

/// What `payment-worker gateway` runs with (DESIGN.md §8).
public struct GatewayConfiguration: Sendable {
    public var host = "127.0.0.1"
    public var port = 8081
    public var kafka: KafkaConfiguration
    public var commandsTopic = "payments.commands"
    public var resultsTopic = "payments.results"
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

    public init(kafka: KafkaConfiguration) {
        self.kafka = kafka
    }
}
