import ArgumentParser
import Configuration
import Logging

/// The flags of `run` and `config check`. Each one is also `PAYMENT_WORKER_<NAME>` in the
/// environment and `<name>` in the JSON file that `--config` names; a flag given wins.
struct WorkerOptions: ParsableArguments {
    @Option(help: "A JSON settings file (PAYMENT_WORKER_CONFIG); see README, Operations.")
    var config: String?

    @Option(help: "Kafka bootstrap servers, host:port,... (PAYMENT_WORKER_BOOTSTRAP_SERVERS). None: an embedded dev broker.")
    var bootstrapServers: String?

    @Option(help: "Consumer group (PAYMENT_WORKER_GROUP_ID, default payment-worker).")
    var groupId: String?

    @Option(help: "Static group membership: this worker's stable id, such as its pod name (PAYMENT_WORKER_INSTANCE_ID, default none). A worker restarted with the same id gets its partitions back at once.")
    var instanceId: String?

    @Option(help: "sqlite:PATH or postgres://... (PAYMENT_WORKER_STORE, default sqlite:./data/payments.sqlite).")
    var store: String?

    @Flag(help: "Provision the seed examples' account and order (PAYMENT_WORKER_DEV=true).")
    var dev = false

    @Option(help: "The accounts file, as 'accounts add' writes it (PAYMENT_WORKER_ACCOUNTS_FILE).")
    var accountsFile: String?

    @Option(help: "Commands topic (PAYMENT_WORKER_COMMANDS_TOPIC).") var commandsTopic: String?
    @Option(help: "Results topic (PAYMENT_WORKER_RESULTS_TOPIC).") var resultsTopic: String?
    @Option(help: "Errors topic (PAYMENT_WORKER_ERRORS_TOPIC).") var errorsTopic: String?
    @Option(help: "DLQ topic (PAYMENT_WORKER_DLQ_TOPIC).") var dlqTopic: String?

    @Option(name: .customLong("kafka-property"),
            help: "Any librdkafka property, name=value (repeatable; PAYMENT_WORKER_KAFKA_PROPERTIES, comma-separated).")
    var kafkaProperties: [String] = []

    @Option(help: "Attempts for a transient failure before the DLQ (PAYMENT_WORKER_RETRY_ATTEMPTS, default 5).")
    var retryAttempts: Int?

    @Option(help: "Largest command body in bytes (PAYMENT_WORKER_MAX_MESSAGE_BYTES, default 16 MiB).")
    var maxMessageBytes: Int?

    @Option(help: "Most lines in one CSV command (PAYMENT_WORKER_MAX_LINES, default 100000).")
    var maxLines: Int?

    @Option(name: .customLong("disable-command"),
            help: "A command to turn off; it is then UNKNOWN_COMMAND (repeatable; PAYMENT_WORKER_DISABLED_COMMANDS, comma-separated).")
    var disabledCommands: [String] = []

    @Flag(help: "Benchmark baseline: answer every command ok, unread and unstored.")
    var passthrough = false

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical (PAYMENT_WORKER_LOG_LEVEL, default info).")
    var logLevel: String?

    @Option(help: "Log format: text or json, one object a line (PAYMENT_WORKER_LOG_FORMAT, default text).")
    var logFormat: String?

    @Option(help: "Operations endpoint address (PAYMENT_WORKER_HTTP_HOST, default 0.0.0.0).")
    var httpHost: String?

    @Option(help: "Operations endpoint port: /metrics, /health/live, /health/ready; 0 picks a free one (PAYMENT_WORKER_HTTP_PORT, default 8080).")
    var httpPort: Int?

    @Option(help: "How long idempotency records are kept (PAYMENT_WORKER_IDEMPOTENCY_RETENTION_SECONDS, default 7 days).")
    var idempotencyRetentionSeconds: Int?

    @Option(help: "Batches handled but unacknowledged before fetching pauses (PAYMENT_WORKER_MAX_BATCHES_IN_FLIGHT, default 16).")
    var maxBatchesInFlight: Int?

    @Option(help: "How long SIGTERM waits for in-flight work (PAYMENT_WORKER_SHUTDOWN_TIMEOUT_SECONDS, default 30).")
    var shutdownTimeoutSeconds: Int?

    @Option(help: "Every store call's deadline; past it the store counts as unavailable (PAYMENT_WORKER_STORE_TIMEOUT_SECONDS, default 20).")
    var storeTimeoutSeconds: Int?

    @Option(help: "Work in flight with nothing done this long fails /health/live (PAYMENT_WORKER_LIVENESS_WINDOW_SECONDS, default 60).")
    var livenessWindowSeconds: Int?

    /// The flags given, as the top layer of the settings.
    var flagValues: [String: ConfigValue] {
        var values: [String: ConfigValue] = [:]
        func set(_ key: String, _ value: String?, secret: Bool = false) {
            if let value { values[key] = ConfigValue(.string(value), isSecret: secret) }
        }
        func set(_ key: String, _ value: Int?) {
            if let value { values[key] = ConfigValue(.int(value), isSecret: false) }
        }
        set("bootstrap_servers", bootstrapServers)
        set("group_id", groupId)
        set("instance_id", instanceId)
        set("store", store, secret: true)
        if dev { values["dev"] = true }
        set("accounts_file", accountsFile)
        set("commands_topic", commandsTopic)
        set("results_topic", resultsTopic)
        set("errors_topic", errorsTopic)
        set("dlq_topic", dlqTopic)
        if !kafkaProperties.isEmpty { values["kafka_properties"] = ConfigValue(.stringArray(kafkaProperties), isSecret: true) }
        set("retry_attempts", retryAttempts)
        set("max_message_bytes", maxMessageBytes)
        set("max_lines", maxLines)
        if !disabledCommands.isEmpty { values["disabled_commands"] = ConfigValue(.stringArray(disabledCommands), isSecret: false) }
        if passthrough { values["passthrough"] = true }
        set("log_level", logLevel)
        set("log_format", logFormat)
        set("http_host", httpHost)
        set("http_port", httpPort)
        set("idempotency_retention_seconds", idempotencyRetentionSeconds)
        set("max_batches_in_flight", maxBatchesInFlight)
        set("shutdown_timeout_seconds", shutdownTimeoutSeconds)
        set("store_timeout_seconds", storeTimeoutSeconds)
        set("liveness_window_seconds", livenessWindowSeconds)
        return values
    }

    func settings(environment: [String: String]) async throws -> WorkerSettings {
        try await WorkerSettings.load(flags: flagValues, environment: environment, file: config ?? environment["PAYMENT_WORKER_CONFIG"])
    }
}
