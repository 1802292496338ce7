import ArgumentParser
import Foundation
import Gateway
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `payment-worker gateway` (docs/contract.md §8): the Cin7 API Lite and CRM.COM `payments/cancel`
/// HTTP APIs in front of Kafka, beside any number of workers and other gateways. Settings
/// come from `--config FILE`, the environment and flags, as `run`'s do.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Serve the seeds' HTTP APIs, each request answered with its command's reply from Kafka.",
        discussion: SettingsOptions<GatewaySettings>.settingsHelp)

    @OptionGroup var options: SettingsOptions<GatewaySettings>

    func run() async throws {
        let settings: GatewaySettings
        do {
            settings = try await options.settings(environment: ProcessInfo.processInfo.environment)
            try settings.validate()
        } catch {
            throw ValidationError("configuration: \(error)")
        }
        guard let configuration = settings.gatewayConfiguration else { throw ValidationError("configuration: see --help") }
        PaymentWorkerCommand.bootstrapLogging(level: settings.shared.logLevel, format: settings.shared.logFormat)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "payment-gateway")
        let gateway = Gateway(configuration: configuration, logger: logger) { registry.emitToBuffer() }
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: [ServiceGroupConfiguration.ServiceConfiguration(service: gateway)],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}
