import Kafka

/// What `payment-worker console` needs (docs/contract.md §9): where to listen, the Kafka
/// connection and topics it reads, the operator token's hash, and the bounds of every read.
public struct ConsoleConfiguration: Sendable {
    /// Named by the settings every process shares.
    public struct Topics: Sendable {
        public var commands: String
        public var results: String
        public var errors: String
        public var dlq: String
        public var status: String

        public init(commands: String, results: String, errors: String, dlq: String, status: String) {
            self.commands = commands
            self.results = results
            self.errors = errors
            self.dlq = dlq
            self.status = status
        }
    }

    public var kafka: KafkaConfiguration
    public var host = "127.0.0.1"
    public var port = 8082
    public var topics: Topics
    /// SHA-256 of the operator token: the token itself is never kept.
    public var tokenHash: [UInt8]
    /// Rows on an explorer page.
    public var pageSize = 50
    /// Messages of each partition a filtered page or a DLQ page's reasons look through.
    public var scanWindow = 2_000
    /// Messages of each partition of each topic a trace looks through.
    public var traceWindow = 5_000
    /// The most DLQ messages one "replay all" puts back.
    public var maxReplays = 1_000
    /// How long a replay waits for its reply or error event.
    public var replayTimeout: Duration = .seconds(15)
    /// The longest any one read of Kafka may take.
    public var readDeadline: Duration = .seconds(10)
    /// Marks the session cookie `Secure`: for a console served over HTTPS (behind a proxy
    /// that terminates TLS), so the browser never sends it in clear. Off by default, so that
    /// the cookie also works on plain `http://127.0.0.1`.
    public var secureCookie = false
    /// How long a login lasts.
    public var sessionLifetime: Duration = .seconds(12 * 3600)
    /// What the overview's chart covers.
    public var history: Duration = .seconds(15 * 60)

    public init(kafka: KafkaConfiguration, topics: Topics, tokenHash: [UInt8]) {
        self.kafka = kafka
        self.topics = topics
        self.tokenHash = tokenHash
    }
}
