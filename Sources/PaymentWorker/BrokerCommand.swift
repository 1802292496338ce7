import ArgumentParser
import Foundation
import Kafka
import Logging
import ServiceLifecycle

/// `payment-worker broker`: a dev Kafka cluster on loopback until SIGINT or SIGTERM.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run a dev Kafka broker (librdkafka's mock cluster) on loopback.",
        discussion: "The first line on standard output is the bootstrap address."
    )

    @Option(help: "How many brokers the cluster has.")
    var brokers: Int = 1

    @Option(help: "Partitions of each topic created up front.")
    var partitions: Int = 4

    @Option(name: .customLong("topic"), help: "A topic to create up front (repeatable).")
    var topics: [String] = DevTopics.defaults

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: Logger.Level = .notice

    func validate() throws {
        guard (1...32).contains(brokers) else { throw ValidationError("--brokers must be 1 to 32") }
        guard (1...1_000).contains(partitions) else { throw ValidationError("--partitions must be 1 to 1000") }
    }

    func run() async throws {
        PaymentWorkerCommand.bootstrapLogging(level: logLevel)
        let logger = Logger(label: "payment-worker.broker")
        let broker = try KafkaDevBroker(brokerCount: brokers, logger: logger)
        for topic in topics {
            try broker.createTopic(topic, partitions: partitions, replicationFactor: brokers)
        }
        // Unbuffered, so that a script reading the first line gets it at once.
        FileHandle.standardOutput.write(Data((broker.bootstrapServers + "\n").utf8))
        logger.notice("dev broker up", metadata: [
            "bootstrap": "\(broker.bootstrapServers)", "brokers": "\(brokers)", "topics": "\(topics)",
        ])
        let group = ServiceGroup(
            services: [DevBrokerService(broker: broker)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        try await group.run()
    }
}

/// Keeps the dev broker up until graceful shutdown, then stops it.
struct DevBrokerService: Service {
    let broker: KafkaDevBroker

    func run() async throws {
        try? await gracefulShutdown()
        await broker.stop()
    }
}

enum DevTopics {
    static let defaults = ["payments.commands", "payments.results", "payments.errors", "payments.dlq"]
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
