import Foundation
import Kafka
import Logging
import PaymentStores
import WorkerRuntime

/// Everything `run` is configured with, after the file, the environment and the flags are
/// merged (flags win over the environment, which wins over the file). Each setting is
/// declared once, in `declarations`; its default is the initial value of what it fills.
struct WorkerSettings: Sendable {
    var bootstrapServers: String?
    var store = "sqlite:./data/payments.sqlite"
    var dev = false
    var accountsFile: String?
    var kafkaProperties: [String: String] = [:]
    var disabledCommands: [String] = []
    var logLevel = Logger.Level.info
    var logFormat = LogFormat.text
    var httpHost = "0.0.0.0"
    /// 0 lets the system choose a free port; the log says which.
    var httpPort = 8080
    /// The runtime's settings, with the runtime's own defaults; `workerConfiguration` adds
    /// the Kafka connection.
    var runtime = WorkerConfiguration(kafka: KafkaConfiguration(bootstrapServers: []))

    enum LogFormat: String, Sendable, CaseIterable {
        case text, json
    }

    /// Every setting, in the order the help and `config check` show them.
    static var declarations: [Setting] {
        [
            .optionalText("bootstrap_servers", \.bootstrapServers, help: "Kafka bootstrap servers, host:port,... None: an embedded dev broker."),
            .text("group_id", \.runtime.groupID, help: "Consumer group."),
            .optionalText("instance_id", \.runtime.instanceID,
                          help: "Static group membership: this worker's stable id, such as its pod name. A worker restarted with the same id gets its partitions back at once."),
            .text("store", \.store, secret: true, help: "sqlite:PATH or postgres://...",
                  show: { store in StoreLocation(argument: store).map { "\($0)" } ?? store }),
            .switchFlag("dev", \.dev, help: "Provision the seed examples' account and order."),
            .optionalText("accounts_file", \.accountsFile, help: "The accounts file, as 'accounts add' writes it."),
            .text("commands_topic", \.runtime.topics.commands, help: "Commands topic."),
            .text("results_topic", \.runtime.topics.results, help: "Results topic."),
            .text("errors_topic", \.runtime.topics.errors, help: "Errors topic."),
            .text("dlq_topic", \.runtime.topics.dlq, help: "DLQ topic."),
            kafkaPropertiesSetting,
            .number("retry_attempts", \.runtime.retry.attempts, atLeast: 1,
                    help: "Attempts for a command that clashed with a concurrent writer before the DLQ."),
            .number("max_message_bytes", \.runtime.maxMessageBytes, atLeast: 1, help: "Largest command body in bytes."),
            .number("max_lines", \.runtime.limits.csv.maxRecords, atLeast: 1, help: "Most lines in one CSV command."),
            .list("disabled_commands", flag: "disable-command", \.disabledCommands,
                  help: "A command to turn off; it is then UNKNOWN_COMMAND (repeatable)."),
            .choice("log_level", \.logLevel, help: "Log level."),
            .choice("log_format", \.logFormat, help: "Log format: text, or json (one object a line)."),
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

    /// Any librdkafka property, `name=value`; a secret one (a password, say) is redacted.
    private static var kafkaPropertiesSetting: Setting {
        Setting("kafka_properties", flag: "kafka-property", kind: .list, secret: true,
                help: "Any librdkafka property, name=value (repeatable).", read: { config, settings in
            for property in Setting.strings("kafka_properties", in: config, secret: true) ?? [] {
                let parts = property.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { throw Fault(description: "kafka_properties: expected name=value, not '\(parts.first ?? "")'") }
                settings.kafkaProperties[String(parts[0])] = String(parts[1])
            }
        }, show: { settings in
            settings.kafkaProperties.keys.sorted().map { name in
                "\(name)=\(KafkaConfiguration.isSecret(property: name) ? "<redacted>" : settings.kafkaProperties[name] ?? "")"
            }
        })
    }

    static var names: [String] { declarations.map(\.name) }

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
        var configuration = runtime
        configuration.kafka = KafkaConfiguration(
            bootstrapServers: bootstrapServers.split(separator: ",").map(String.init), clientID: "payment-worker",
            properties: kafkaProperties)
        configuration.limits.csv.maxBytes = configuration.maxMessageBytes
        return configuration
    }

    /// The effective settings as JSON, secrets replaced by `<redacted>`: `config check` prints it.
    var redactedJSON: String {
        let object = Dictionary(uniqueKeysWithValues: Self.declarations.map { ($0.name, $0.show(self)) })
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
