import Foundation
import Kafka
import Logging
import PaymentStores
import WorkerRuntime

/// Everything `run` is configured with, after the file, the environment and the flags are
/// merged (flags win over the environment, which wins over the file). Each setting is
/// declared once, in `declarations`; its default is the initial value of what it fills.
struct WorkerSettings: ProcessSettings {
    static let environmentPrefix = "PAYMENT_WORKER"

    var shared = SharedSettings()
    var store = "sqlite:./data/payments.sqlite"
    var dev = false
    var accountsFile: String?
    var disabledCommands: [String] = []
    var httpHost = "0.0.0.0"
    /// 0 lets the system choose a free port; the log says which.
    var httpPort = 8080
    /// The runtime's settings, with the runtime's own defaults; `workerConfiguration` adds
    /// the Kafka connection and the topics.
    var runtime = WorkerConfiguration(kafka: KafkaConfiguration(bootstrapServers: []))

    /// Every setting, in the order the help and `config check` show them.
    static var declarations: [Setting<WorkerSettings>] {
        [
            .bootstrapServers(help: "Kafka bootstrap servers, host:port,... None: an embedded dev broker."),
            .text("group_id", \.runtime.groupID, help: "Consumer group."),
            .optionalText("instance_id", \.runtime.instanceID,
                          help: "Static group membership: this worker's stable id, such as its pod name. A worker restarted with the same id gets its partitions back at once."),
            .text("store", \.store, secret: true, help: "sqlite:PATH or postgres://...",
                  show: { store in StoreLocation(argument: store).map { "\($0)" } ?? store }),
            .switchFlag("dev", \.dev, help: "Provision the seed examples' account and order."),
            .optionalText("accounts_file", \.accountsFile, help: "The accounts file, as 'accounts add' writes it."),
            .commandsTopic, .resultsTopic, .errorsTopic, .dlqTopic, .statusTopic,
            .seconds("status_interval_seconds", \.runtime.statusInterval, atLeast: 1, help: "How often the worker publishes its status report."),
            .kafkaProperties,
            .number("retry_attempts", \.runtime.retry.attempts, atLeast: 1,
                    help: "Attempts for a command that clashed with a concurrent writer before the DLQ."),
            .number("max_message_bytes", \.runtime.maxMessageBytes, atLeast: 1, help: "Largest command body in bytes."),
            .number("max_lines", \.runtime.limits.csv.maxRecords, atLeast: 1, help: "Most lines in one CSV command."),
            .list("disabled_commands", flag: "disable-command", \.disabledCommands,
                  help: "A command to turn off; it is then UNKNOWN_COMMAND (repeatable)."),
            .logLevel, .logFormat,
            .text("http_host", \.httpHost, help: "Operations endpoint address."),
            .number("http_port", \.httpPort, atLeast: 0, atMost: 65535,
                    help: "Operations endpoint port: /metrics, /health/live, /health/ready; 0 picks a free one."),
            .seconds("idempotency_retention_seconds", \.runtime.idempotencyRetention, atLeast: 60, help: "How long idempotency records are kept."),
            .number("max_batches_in_flight", \.runtime.maxBatchesInFlight, atLeast: 1,
                    help: "Batches handled but unacknowledged before fetching pauses."),
            .seconds("shutdown_timeout_seconds", \.runtime.shutdownTimeout, atLeast: 1, help: "How long SIGTERM waits for in-flight work."),
            .seconds("store_timeout_seconds", \.runtime.storeCallTimeout, atLeast: 1,
                     help: "Every store call's deadline; past it the store counts as unavailable."),
            .seconds("liveness_window_seconds", \.runtime.livenessWindow, atLeast: 1,
                     help: "Work in flight with nothing done this long fails /health/live."),
        ]
    }

    /// What cannot be checked while reading: the store's form, the commands named, and every
    /// librdkafka property (by librdkafka itself).
    func validate() throws {
        guard StoreLocation(argument: store) != nil else { throw SettingsFault(description: "store: expected sqlite:PATH or a postgres:// URL") }
        let known = PaymentWorkerCommand.plugins.commands
        for command in disabledCommands where !known.contains(command) {
            throw SettingsFault(description: "disabled_commands: there is no command '\(command)'; the commands are \(known.joined(separator: ", "))")
        }
        try workerConfiguration(bootstrapServers: shared.bootstrapServers ?? "127.0.0.1:9092").validate()
    }

    /// The sizes that follow from the settings, for `config check`: the largest command body
    /// the worker takes, Kafka's message limit, and the largest import chunk (the gateway's
    /// and `send`'s) and reply part, which leave room in a message for key and headers.
    var sizeLimits: String {
        let kafka = workerConfiguration(bootstrapServers: "127.0.0.1:9092").kafka
        return "size limits: commands up to \(runtime.maxMessageBytes) bytes (max_message_bytes); Kafka messages up to "
            + "\(kafka.messageMaxBytes) bytes (message.max.bytes); import chunks up to \(kafka.maxChunkBytes(keyBytes: 0)) bytes "
            + "and reply parts up to \(kafka.maxValueBytes(keyBytes: 0)) bytes"
    }

    /// The runtime's configuration; `bootstrapServers` is the dev broker's when none was given.
    func workerConfiguration(bootstrapServers: String) -> WorkerConfiguration {
        var configuration = runtime
        configuration.kafka = shared.kafka(bootstrapServers: bootstrapServers, clientID: "payment-worker")
        configuration.topics = shared.topics
        configuration.storeKind = StoreLocation(argument: store).map { if case .postgres = $0 { "postgres" } else { "sqlite" } } ?? "sqlite"
        configuration.limits.csv.maxBytes = configuration.maxMessageBytes
        return configuration
    }
}
