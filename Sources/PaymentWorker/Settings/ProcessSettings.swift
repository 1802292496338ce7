import Configuration
import Foundation
import Kafka
import Logging
import SystemPackage
import WorkerRuntime

/// The settings of one process (`run`, `gateway`): the entries every process shares,
/// declared once in `SharedSettings`, and the process's own, in one table of `Setting`s that
/// makes the flags, the environment variables, the file keys, the help and `config check`.
protocol ProcessSettings: Sendable {
    init()
    /// The environment variables' prefix: `PAYMENT_WORKER`, `PAYMENT_GATEWAY`.
    static var environmentPrefix: String { get }
    /// Every setting, in the order the help and `config check` show them.
    static var declarations: [Setting<Self>] { get }
    var shared: SharedSettings { get set }
    /// What cannot be checked while reading, such as every librdkafka property.
    func validate() throws
}

/// What every process is configured with, declared once (`Setting.bootstrapServers` and its
/// siblings below) and listed in each process's table.
struct SharedSettings: Sendable {
    var bootstrapServers: String?
    var kafkaProperties: [String: String] = [:]
    var topics = WorkerConfiguration.Topics()
    var logLevel = Logger.Level.info
    var logFormat = LogFormat.text

    enum LogFormat: String, Sendable, CaseIterable {
        case text, json
    }

    /// The Kafka connection, as every client of the process makes it.
    func kafka(bootstrapServers: String, clientID: String) -> KafkaConfiguration {
        KafkaConfiguration(bootstrapServers: bootstrapServers.split(separator: ",").map(String.init), clientID: clientID,
                           properties: kafkaProperties)
    }
}

/// A setting that is there but wrong, or a file that cannot be read: names the fault.
struct SettingsFault: Error, CustomStringConvertible {
    let description: String
}

extension Setting {
    static func bootstrapServers(help: String) -> Setting {
        .optionalText("bootstrap_servers", \.shared.bootstrapServers, help: help)
    }

    static var commandsTopic: Setting { .text("commands_topic", \.shared.topics.commands, help: "Commands topic.") }
    static var resultsTopic: Setting { .text("results_topic", \.shared.topics.results, help: "Results topic.") }
    static var errorsTopic: Setting { .text("errors_topic", \.shared.topics.errors, help: "Errors topic.") }
    static var dlqTopic: Setting { .text("dlq_topic", \.shared.topics.dlq, help: "DLQ topic.") }
    static var statusTopic: Setting { .text("status_topic", \.shared.topics.status, help: "Workers' status reports topic.") }
    static var logLevel: Setting { .choice("log_level", \.shared.logLevel, help: "Log level.") }
    static var logFormat: Setting { .choice("log_format", \.shared.logFormat, help: "Log format: text, or json (one object a line).") }

    /// Any librdkafka property, `name=value`; a secret one (a password, say) is redacted.
    static var kafkaProperties: Setting {
        Setting("kafka_properties", flag: "kafka-property", kind: .list, secret: true,
                help: "Any librdkafka property, name=value (repeatable).", read: { config, settings in
            for property in Setting.strings("kafka_properties", in: config, secret: true) ?? [] {
                let parts = property.split(separator: "=", maxSplits: 1)
                guard parts.count == 2 else { throw SettingsFault(description: "kafka_properties: expected name=value, not '\(parts.first ?? "")'") }
                settings.shared.kafkaProperties[String(parts[0])] = String(parts[1])
            }
        }, show: { settings in
            settings.shared.kafkaProperties.keys.sorted().map { name in
                "\(name)=\(KafkaConfiguration.isSecret(property: name) ? "<redacted>" : settings.shared.kafkaProperties[name] ?? "")"
            }
        })
    }
}

extension ProcessSettings {
    static var names: [String] { declarations.map(\.name) }

    /// Reads the settings from, in order of precedence, `flags`, the `<PREFIX>_*` environment
    /// variables and the JSON file at `file` (if any).
    static func load(flags: [String: ConfigValue], environment: [String: String], file: String?) async throws -> Self {
        let prefix = environmentPrefix.lowercased()
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: Dictionary(uniqueKeysWithValues: flags.map { (AbsoluteConfigKey([$0.key]), $0.value) })),
            KeyMappingProvider(upstream: EnvironmentVariablesProvider(environmentVariables: environment)) { key in
                key.prepending([prefix])
            },
        ]
        if let file {
            try checkKnownKeys(in: file)
            do {
                providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(file)))
            } catch {
                throw SettingsFault(description: "\(file): \(error)")
            }
        }
        let config = ConfigReader(providers: providers)
        var settings = Self()
        for setting in declarations { try setting.read(config, &settings) }
        return settings
    }

    /// A misspelt key would otherwise be silently ignored.
    private static func checkKnownKeys(in file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw SettingsFault(description: "\(file): cannot be read") }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw SettingsFault(description: "\(file): not valid JSON (\(error.localizedDescription))")
        }
        guard let settings = object as? [String: Any] else { throw SettingsFault(description: "\(file): expected a JSON object of settings") }
        // Built from the declarations on each use: built once here, not once a key.
        let names = Self.names
        for key in settings.keys.sorted() where !names.contains(key) {
            throw SettingsFault(description: "\(file): unknown setting '\(key)'; the settings are \(names.joined(separator: ", "))")
        }
    }

    /// The effective settings as JSON, secrets replaced by `<redacted>`: `config check` prints it.
    var redactedJSON: String {
        let object = Dictionary(uniqueKeysWithValues: Self.declarations.map { ($0.name, $0.show(self)) })
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }

    /// Checks every librdkafka property with librdkafka itself, for a producer and a consumer
    /// of `groupID`: its message names the property, never a secret value.
    func validateKafkaProperties(groupID: String, instanceID: String? = nil) throws {
        let kafka = shared.kafka(bootstrapServers: "127.0.0.1:9092", clientID: "check")
        var consumer = KafkaConsumerConfiguration(common: kafka, groupID: groupID)
        consumer.instanceID = instanceID
        try consumer.validate()
        try KafkaProducerConfiguration(common: kafka).validate()
    }
}

/// A process that serves HTTP and reads Kafka outside the workers' group: the gateway and
/// the console. Both need the bootstrap servers and a `listen` address, checked alike.
protocol ListeningSettings: ProcessSettings {
    var listen: String { get }
    /// The group id its Kafka clients would use, for checking the librdkafka properties.
    static var clientGroupID: String { get }
}

extension ListeningSettings {
    /// HOST:PORT of `listen`, or nil when it is not that.
    var listenAddress: (host: String, port: Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
              (0...65_535).contains(port) else { return nil }
        return (String(listen[..<colon]), port)
    }

    func validateListeningProcess() throws {
        guard shared.bootstrapServers != nil else {
            throw SettingsFault(description: "bootstrap_servers: required (--bootstrap-servers, \(Self.environmentPrefix)_BOOTSTRAP_SERVERS)")
        }
        guard listenAddress != nil else { throw SettingsFault(description: "listen: expected HOST:PORT, not '\(listen)'") }
        do {
            try validateKafkaProperties(groupID: Self.clientGroupID)
        } catch {
            throw SettingsFault(description: "kafka_properties: \(error)")
        }
    }
}
