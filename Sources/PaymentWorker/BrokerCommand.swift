import ArgumentParser
import Foundation
import Kafka
import Logging
import ServiceLifecycle
import WorkerRuntime

/// `payment-worker broker`: a dev Kafka cluster on loopback until SIGINT or SIGTERM.
struct BrokerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "broker",
        abstract: "Run a dev Kafka broker (librdkafka's mock cluster) on loopback.",
        discussion: """
            The first line on standard output is the bootstrap address. For outage drills, SIGUSR1 takes every \
            broker down (connections drop, new ones are refused), SIGUSR2 brings them back, and SIGHUP answers \
            the next produce request with OUT_OF_ORDER_SEQUENCE_NUMBER (an idempotent producer's fatal error).
            """
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
        let drills = OutageDrillSignals(broker: broker, logger: logger)
        defer { drills.cancel() }
        let group = ServiceGroup(
            services: [DevBrokerService(broker: broker)],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger
        )
        try await group.run()
    }
}

/// SIGUSR1 takes every broker of the dev cluster down, SIGUSR2 brings them up: how a fault
/// drill (or test) takes the whole cluster away from a worker and gives it back.
final class OutageDrillSignals {
    private let sources: [any DispatchSourceSignal]

    init(broker: KafkaDevBroker, logger: Logger) {
        var sources = [(SIGUSR1, false), (SIGUSR2, true)].map { signalNumber, up in
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler {
                do {
                    for id in 1...Int32(broker.brokerCount) {
                        if up { try broker.bringUp(broker: id) } else { try broker.takeDown(broker: id) }
                    }
                    logger.notice(up ? "every broker up again" : "every broker down (SIGUSR1); SIGUSR2 brings them back")
                } catch {
                    logger.error("outage drill failed", metadata: ["error": "\(error)"])
                }
            }
            source.resume()
            return source
        }
        signal(SIGHUP, SIG_IGN)
        let sequence = DispatchSource.makeSignalSource(signal: SIGHUP, queue: .global())
        sequence.setEventHandler {
            do {
                try broker.breakNextProduceSequence()
                logger.notice("the next produce request will fail with OUT_OF_ORDER_SEQUENCE_NUMBER (SIGHUP)")
            } catch {
                logger.error("outage drill failed", metadata: ["error": "\(error)"])
            }
        }
        sequence.resume()
        sources.append(sequence)
        self.sources = sources
    }

    func cancel() {
        for source in sources { source.cancel() }
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
    static var defaults: [String] {
        let topics = WorkerConfiguration.Topics()
        return [topics.commands, topics.results, topics.errors, topics.dlq, topics.status]
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
