import ArgumentParser
import Foundation
import Gateway
import Kafka
import Logging
import Metrics
import Prometheus
import ServiceLifecycle

/// `payment-worker gateway` (DESIGN.md §8): the Cin7 API Lite and CRM.COM `payments/cancel`
/// HTTP APIs in front of Kafka, beside any number of workers and other gateways.
struct GatewayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gateway",
        abstract: "Serve the seeds' HTTP APIs, each request answered with its command's reply from Kafka.")

    @Option(help: "Where to listen, HOST:PORT.")
    var listen = "127.0.0.1:8081"

    @Option(help: "Kafka bootstrap servers (PAYMENT_WORKER_BOOTSTRAP_SERVERS).")
    var bootstrapServers: String?

    @Option(help: "Seconds a request waits for its reply before it is answered 202 with a Location.")
    var replyTimeoutSeconds = 30

    @Option(help: "Requests waiting for replies at once; one more is answered 503.")
    var maxPending = 10_000

    @Option(help: "The largest body forwarded, in bytes (the worker's limit); a larger one is 413.")
    var maxBodyBytes = 16 << 20

    @Option var commandsTopic = "payments.commands"
    @Option var resultsTopic = "payments.results"

    @Option(name: .customLong("kafka-property"),
            help: "Any librdkafka property, name=value (repeatable): SASL, TLS, fetch.wait.max.ms and the like.")
    var kafkaProperties: [String] = []

    @Option(help: "trace, debug, info, notice, warning, error or critical.")
    var logLevel = "info"

    func validate() throws {
        guard listenAddress != nil else { throw ValidationError("--listen takes HOST:PORT") }
        guard replyTimeoutSeconds >= 0 else { throw ValidationError("--reply-timeout-seconds must not be negative") }
        guard maxPending > 0 else { throw ValidationError("--max-pending must be at least 1") }
        guard servers != nil else { throw ValidationError("--bootstrap-servers (or PAYMENT_WORKER_BOOTSTRAP_SERVERS) is required") }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("--log-level: unknown level '\(logLevel)'") }
        let properties = try librdkafkaProperties()
        // librdkafka checks every name and value now, before anything listens or connects;
        // its message names the property, never a secret value.
        let kafka = KafkaConfiguration(bootstrapServers: ["127.0.0.1:9092"], properties: properties)
        do {
            try KafkaProducerConfiguration(common: kafka).validate()
            try KafkaConsumerConfiguration(common: kafka, groupID: "payment-gateway").validate()
        } catch {
            throw ValidationError("--kafka-property: \(error)")
        }
    }

    private func librdkafkaProperties() throws -> [String: String] {
        try kafkaProperties.reduce(into: [:]) { properties, property in
            let parts = property.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else {
                throw ValidationError("--kafka-property takes name=value, not '\(parts.first ?? "")'")
            }
            properties[String(parts[0])] = String(parts[1])
        }
    }

    private var listenAddress: (host: String, port: Int)? {
        guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]),
              (0...65_535).contains(port) else { return nil }
        return (String(listen[..<colon]), port)
    }

    private var servers: String? {
        bootstrapServers ?? ProcessInfo.processInfo.environment["PAYMENT_WORKER_BOOTSTRAP_SERVERS"]
    }

    func run() async throws {
        guard let address = listenAddress, let servers else { throw ValidationError("see --help") }
        PaymentWorkerCommand.bootstrapLogging(level: Logger.Level(rawValue: logLevel) ?? .info)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        var configuration = GatewayConfiguration(kafka: KafkaConfiguration(
            bootstrapServers: servers.split(separator: ",").map(String.init), clientID: "payment-gateway",
            properties: try librdkafkaProperties()))
        configuration.host = address.host
        configuration.port = address.port
        configuration.replyTimeout = .seconds(replyTimeoutSeconds)
        configuration.maxPending = maxPending
        configuration.maxBodyBytes = maxBodyBytes
        configuration.commandsTopic = commandsTopic
        configuration.resultsTopic = resultsTopic
        configuration.chunkedImportCommands = PaymentWorkerCommand.chunkedImportCommands
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
