import Configuration
import Foundation
import Logging
import SystemPackage

extension WorkerSettings {
    /// A setting that is there but wrong, or a file that cannot be read: names the fault.
    struct Fault: Error, CustomStringConvertible {
        let description: String
    }

    /// Reads the settings from, in order of precedence, `flags`, the `PAYMENT_WORKER_*`
    /// environment variables and the JSON file at `file` (if any).
    static func load(flags: [String: ConfigValue], environment: [String: String], file: String?) async throws -> WorkerSettings {
        var providers: [any ConfigProvider] = [
            InMemoryProvider(name: "flags", values: Dictionary(uniqueKeysWithValues: flags.map { (AbsoluteConfigKey([$0.key]), $0.value) })),
            KeyMappingProvider(upstream: EnvironmentVariablesProvider(environmentVariables: environment)) { key in
                key.prepending(["payment_worker"])
            },
        ]
        if let file {
            try checkKnownKeys(in: file)
            do {
                providers.append(try await FileProvider<JSONSnapshot>(filePath: FilePath(file)))
            } catch {
                throw Fault(description: "\(file): \(error)")
            }
        }
        return try WorkerSettings(ConfigReader(providers: providers))
    }

    /// A misspelt key would otherwise be silently ignored.
    private static func checkKnownKeys(in file: String) throws {
        guard let data = FileManager.default.contents(atPath: file) else { throw Fault(description: "\(file): cannot be read") }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data)
        } catch {
            throw Fault(description: "\(file): not valid JSON (\(error.localizedDescription))")
        }
        guard let settings = object as? [String: Any] else { throw Fault(description: "\(file): expected a JSON object of settings") }
        for key in settings.keys.sorted() where !names.contains(key) {
            throw Fault(description: "\(file): unknown setting '\(key)'; the settings are \(names.joined(separator: ", "))")
        }
    }

    private init(_ config: ConfigReader) throws {
        func present(_ key: String) -> Bool {
            config.string(forKey: ConfigKey(key)) != nil || config.stringArray(forKey: ConfigKey(key)) != nil
                || config.int(forKey: ConfigKey(key)) != nil || config.bool(forKey: ConfigKey(key)) != nil
        }
        func string(_ key: String, secret: Bool = false) -> String? {
            config.string(forKey: ConfigKey(key), isSecret: secret)
        }
        func int(_ key: String, atLeast minimum: Int) throws -> Int? {
            guard present(key) else { return nil }
            guard let value = config.int(forKey: ConfigKey(key)) else { throw Fault(description: "\(key): expected a whole number") }
            guard value >= minimum else { throw Fault(description: "\(key): \(value) is below \(minimum)") }
            return value
        }
        func bool(_ key: String) throws -> Bool? {
            guard present(key) else { return nil }
            guard let value = config.bool(forKey: ConfigKey(key)) else { throw Fault(description: "\(key): expected true or false") }
            return value
        }
        func strings(_ key: String) -> [String] {
            config.stringArray(forKey: ConfigKey(key)) ?? string(key).map { $0.split(separator: ",").map(String.init) } ?? []
        }

        bootstrapServers = string("bootstrap_servers").flatMap { $0.isEmpty ? nil : $0 }
        groupID = string("group_id") ?? groupID
        instanceID = string("instance_id").flatMap { $0.isEmpty ? nil : $0 }
        store = string("store", secret: true) ?? store
        dev = try bool("dev") ?? dev
        accountsFile = string("accounts_file")
        topics.commands = string("commands_topic") ?? topics.commands
        topics.results = string("results_topic") ?? topics.results
        topics.errors = string("errors_topic") ?? topics.errors
        topics.dlq = string("dlq_topic") ?? topics.dlq
        for property in config.stringArray(forKey: "kafka_properties", isSecret: true) ?? [] {
            let parts = property.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw Fault(description: "kafka_properties: expected name=value, not '\(parts.first ?? "")'") }
            kafkaProperties[String(parts[0])] = String(parts[1])
        }
        retryAttempts = try int("retry_attempts", atLeast: 1) ?? retryAttempts
        maxMessageBytes = try int("max_message_bytes", atLeast: 1) ?? maxMessageBytes
        maxLines = try int("max_lines", atLeast: 1) ?? maxLines
        disabledCommands = strings("disabled_commands")
        passthrough = try bool("passthrough") ?? passthrough
        if let level = string("log_level") {
            guard let parsed = Logger.Level(rawValue: level) else {
                throw Fault(description: "log_level: '\(level)' is not one of \(Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            logLevel = parsed
        }
        if let format = string("log_format") {
            guard let parsed = LogFormat(rawValue: format) else { throw Fault(description: "log_format: '\(format)' is not text or json") }
            logFormat = parsed
        }
        httpHost = string("http_host") ?? httpHost
        httpPort = try int("http_port", atLeast: 0) ?? httpPort
        guard httpPort <= 65535 else { throw Fault(description: "http_port: \(httpPort) is not a port") }
        idempotencyRetentionSeconds = try int("idempotency_retention_seconds", atLeast: 60) ?? idempotencyRetentionSeconds
        maxBatchesInFlight = try int("max_batches_in_flight", atLeast: 1) ?? maxBatchesInFlight
        shutdownTimeoutSeconds = try int("shutdown_timeout_seconds", atLeast: 1) ?? shutdownTimeoutSeconds
        storeTimeoutSeconds = try int("store_timeout_seconds", atLeast: 1) ?? storeTimeoutSeconds
        livenessWindowSeconds = try int("liveness_window_seconds", atLeast: 1) ?? livenessWindowSeconds
    }
}
