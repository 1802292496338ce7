import ArgumentParser
import Foundation

/// `payment-worker config check`: reads the settings as `run` would and prints the effective
/// ones, secrets redacted; a fault is named and the exit status is 1.
struct ConfigCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "config", abstract: "Configuration tools.", subcommands: [Check.self])

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Validate the settings (file, environment, flags) and print the effective ones, secrets redacted.",
            discussion: WorkerOptions.settingsHelp)

        @OptionGroup var options: WorkerOptions

        func run() async throws {
            do {
                let settings = try await options.settings(environment: ProcessInfo.processInfo.environment)
                try settings.validate()
                print(settings.redactedJSON)
            } catch {
                FileHandle.standardError.write(Data("configuration error: \(error)\n".utf8))
                throw ExitCode.failure
            }
        }
    }
}
