import ArgumentParser
import Console
import Foundation
import Logging
import ServiceLifecycle

/// `payment-worker console` (docs/contract.md §9): the operators' web console over Kafka, beside
/// any number of workers, gateways and other consoles.
struct ConsoleCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console",
        abstract: "Serve the operator console: workers, errors, the DLQ (and its replay) and traces, from Kafka.",
        discussion: SettingsOptions<ConsoleSettings>.settingsHelp)

    @OptionGroup var options: SettingsOptions<ConsoleSettings>

    func run() async throws {
        let configuration: ConsoleConfiguration
        let settings: ConsoleSettings
        do {
            settings = try await options.settings(environment: ProcessInfo.processInfo.environment)
            try settings.validate()
            configuration = try settings.consoleConfiguration()
        } catch {
            throw ValidationError("configuration: \(error)")
        }
        PaymentWorkerCommand.bootstrapLogging(level: settings.shared.logLevel, format: settings.shared.logFormat)
        let logger = Logger(label: "payment-console")
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [ServiceGroupConfiguration.ServiceConfiguration(service: Console(configuration: configuration, logger: logger))],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
