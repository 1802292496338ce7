import ArgumentParser
import Foundation

/// `payment-worker config check` and `config check-gateway`: read the settings as `run` or
/// `gateway` would and print the effective ones, secrets redacted; a fault is named and the
/// exit status is 1.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Configuration tools.",
        subcommands: [Check<WorkerSettings>.self, Check<GatewaySettings>.self, Check<ConsoleSettings>.self])

    struct Check<Settings: ProcessSettings & ConfigCheckable>: AsyncParsableCommand {
        static var configuration: CommandConfiguration {
            CommandConfiguration(
                commandName: Settings.checkCommand,
                abstract: "Validate the \(Settings.process) settings (file, environment, flags) and print the effective ones, secrets redacted.",
                discussion: SettingsOptions<Settings>.settingsHelp)
        }

        @OptionGroup var options: SettingsOptions<Settings>

        func run() async throws {
            do {
                let settings = try await options.settings(environment: ProcessInfo.processInfo.environment)
                try settings.validate()
                print(settings.redactedJSON)
                // Standard output stays a settings file; what follows from it goes beside.
                FileHandle.standardError.write(Data((settings.sizeLimits + "\n").utf8))
            } catch {
                FileHandle.standardError.write(Data("configuration error: \(error)\n".utf8))
                throw ExitCode.failure
            }
        }
    }
}

/// A process whose settings `config` checks.
protocol ConfigCheckable {
    /// `check`, `check-gateway`.
    static var checkCommand: String { get }
    /// `worker`, `gateway`.
    static var process: String { get }
    /// The sizes that follow from the settings: what a command, a Kafka message, an import
    /// chunk and a reply part may hold.
    var sizeLimits: String { get }
}

extension WorkerSettings: ConfigCheckable {
    static let checkCommand = "check"
    static let process = "worker"
}

extension GatewaySettings: ConfigCheckable {
    static let checkCommand = "check-gateway"
    static let process = "gateway"

    var sizeLimits: String {
        let kafka = shared.kafka(bootstrapServers: "127.0.0.1:9092", clientID: "check")
        return "size limits: request bodies up to \(gateway.maxBodyBytes) bytes (max_body_bytes); Kafka messages up to "
            + "\(kafka.messageMaxBytes) bytes (message.max.bytes); import chunks up to \(kafka.maxChunkBytes(keyBytes: 0)) bytes "
            + "and \(gateway.linesPerChunk) lines (import_chunk_lines)"
    }
}

extension ConsoleSettings: ConfigCheckable {
    static let checkCommand = "check-console"
    static let process = "console"

    var sizeLimits: String {
        "reads: \(pageSize) rows a page (page_size); replays wait \(replayTimeout) for their answers (replay_timeout_seconds)"
    }
}
