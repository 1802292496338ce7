import Foundation
import Kafka
import Logging
import PaymentStores
import WorkerRuntime

/// Everything `run` is configured with, after the file, the environment and the flags are
/// merged (flags win over the environment, which wins over the file).
struct WorkerSettings: Sendable {
    /// The runtime's own defaults, so that each is written once.
    private static let runtime = WorkerConfiguration(kafka: KafkaConfiguration(bootstrapServers: []))

    var bootstrapServers: String?
    var groupID = runtime.groupID
    var instanceID: String?
    var store = "sqlite:./data/payments.sqlite"
    var dev = false
    var accountsFile: String?
    var topics = runtime.topics
    var kafkaProperties: [String: String] = [:]
    var retryAttempts = runtime.retry.attempts
    var maxMessageBytes = runtime.maxMessageBytes
    var maxLines = runtime.limits.csv.maxRecords
    var disabledCommands: [String] = []
    var passthrough = false
    var logLevel = Logger.Level.info
    var logFormat = LogFormat.text
    var httpHost = "0.0.0.0"
    /// 0 lets the system choose a free port; the log says which.
    var httpPort = 8080
    var idempotencyRetentionSeconds = Int(runtime.idempotencyRetention.components.seconds)
    var maxBatchesInFlight = runtime.maxBatchesInFlight
    var shutdownTimeoutSeconds = Int(runtime.shutdownTimeout.components.seconds)
    var storeTimeoutSeconds = Int(runtime.storeCallTimeout.components.seconds)
    var livenessWindowSeconds = Int(runtime.livenessWindow.components.seconds)

    enum LogFormat: String, Sendable, CaseIterable {
        case text, json
    }

    /// Every setting's name: the JSON file's key, `--name-with-dashes` as a flag, and
    /// `PAYMENT_WORKER_NAME` in the environment.
    static let names = [
        "bootstrap_servers", "group_id", "instance_id", "store", "dev", "accounts_file", "commands_topic", "results_topic", "errors_topic",
        "dlq_topic", "kafka_properties", "retry_attempts", "max_message_bytes", "max_lines", "disabled_commands",
        "passthrough", "log_level", "log_format", "http_host", "http_port", "idempotency_retention_seconds",
        "max_batches_in_flight", "shutdown_timeout_seconds", "store_timeout_seconds",
        "liveness_window_seconds",
    ]

    /// What cannot be checked while reading: the store's form, the commands named, and every
    /// librdkafka property (by librdkafka itself).
    func validate() throws {
        guard StoreLocation(argument: store) != nil else { throw Fault(description: "store: expected sqlite:PATH or a postgres:// URL") }
        let known = PaymentWorkerCommand.plugins.commands
        for command in disabledCommands where !known.contains(command) {
            throw Fault(description: "disabled_commands: there is no command '\(command)'; the commands are \(known.joined(separator: ", "))")
        }
        try workerConfiguration(bootstrapServers: bootstrapServers ?? "127.0.0.1:9092").validate()
    }

    /// The runtime's configuration; `bootstrapServers` is the dev broker's when none was given.
    func workerConfiguration(bootstrapServers: String) -> WorkerConfiguration {
        var configuration = WorkerConfiguration(kafka: KafkaConfiguration(
            bootstrapServers: bootstrapServers.split(separator: ",").map(String.init), clientID: "payment-worker",
            properties: kafkaProperties))
        configuration.groupID = groupID
        configuration.instanceID = instanceID
        configuration.passthrough = passthrough
        configuration.topics = topics
        configuration.retry.attempts = retryAttempts
        configuration.maxMessageBytes = maxMessageBytes
        configuration.limits.csv.maxBytes = maxMessageBytes
        configuration.limits.csv.maxRecords = maxLines
        configuration.idempotencyRetention = .seconds(idempotencyRetentionSeconds)
        configuration.maxBatchesInFlight = maxBatchesInFlight
        configuration.shutdownTimeout = .seconds(shutdownTimeoutSeconds)
        configuration.storeCallTimeout = .seconds(storeTimeoutSeconds)
        configuration.livenessWindow = .seconds(livenessWindowSeconds)
        return configuration
    }

    /// The effective settings as JSON, secrets replaced by `<redacted>`: `config check` prints it.
    var redactedJSON: String {
        let store = StoreLocation(argument: store).map { "\($0)" } ?? self.store
        var properties: [String: String] = [:]
        for (name, value) in kafkaProperties { properties[name] = KafkaConfiguration.isSecret(property: name) ? "<redacted>" : value }
        let object: [String: Any] = [
            "bootstrap_servers": bootstrapServers ?? NSNull(), "group_id": groupID, "instance_id": instanceID ?? NSNull(), "store": store, "dev": dev,
            "accounts_file": accountsFile ?? NSNull(), "commands_topic": topics.commands, "results_topic": topics.results,
            "errors_topic": topics.errors, "dlq_topic": topics.dlq,
            "kafka_properties": properties.keys.sorted().map { "\($0)=\(properties[$0] ?? "")" },
            "retry_attempts": retryAttempts, "max_message_bytes": maxMessageBytes, "max_lines": maxLines,
            "disabled_commands": disabledCommands, "passthrough": passthrough, "log_level": logLevel.rawValue,
            "log_format": logFormat.rawValue, "http_host": httpHost, "http_port": httpPort,
            "idempotency_retention_seconds": idempotencyRetentionSeconds, "max_batches_in_flight": maxBatchesInFlight,
            "shutdown_timeout_seconds": shutdownTimeoutSeconds, "store_timeout_seconds": storeTimeoutSeconds,
            "liveness_window_seconds": livenessWindowSeconds,
        ]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
