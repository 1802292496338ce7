import Foundation
import Kafka
import Logging
import PaymentsDomain
import ServiceLifecycle

/// The worker: consumes commands, hands each partition's batch to the `CommandHandler`,
/// publishes what it returns, and marks the batch done only once the broker has acknowledged
/// every reply, error event and DLQ copy. A crash at any point leaves the commands
/// uncommitted; their redelivery is answered from the idempotency store.
public struct Worker: Service {
    let configuration: WorkerConfiguration
    let store: any PaymentStore
    let handler: CommandHandler
    let logger: Logger

    public init(configuration: WorkerConfiguration, store: any PaymentStore, accounts: AccountDirectory,
                registry: PluginRegistry, logger: Logger = Logger(label: "payment-worker")) {
        self.configuration = configuration
        self.store = store
        self.logger = logger
        handler = CommandHandler(registry: registry, accounts: accounts, store: store, configuration: configuration, logger: logger)
    }

    public func run() async throws {
        let producer = try KafkaProducer(
            configuration: KafkaProducerConfiguration(common: configuration.kafka), logger: logger)
        let inFlight = InFlightWork()
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(common: configuration.kafka, groupID: configuration.groupID),
            topics: [configuration.topics.commands], logger: logger,
            rebalanceListener: FinishBeforeRevocation(inFlight: inFlight, logger: logger))
        logger.notice("worker started", metadata: [
            "group": "\(configuration.groupID)", "commands": "\(configuration.topics.commands)",
        ])
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await purgeIdempotencyRecords() }
                for await batch in consumer.batches {
                    inFlight.begin()
                    await handle(batch, consumer: consumer, producer: producer)
                    inFlight.end()
                }
                group.cancelAll()
            }
        } onGracefulShutdown: {
            // Stops fetching; the revocation waits for the batch in hand, then commits.
            Task { await consumer.close() }
        }
        await consumer.close()
        await producer.close(timeout: configuration.shutdownTimeout)
        try await store.close()
        logger.notice("worker stopped")
    }

    private func handle(_ batch: [KafkaConsumerMessage], consumer: KafkaConsumer, producer: KafkaProducer) async {
        var partitions: [KafkaTopicPartition: [KafkaConsumerMessage]] = [:]
        for message in batch { partitions[message.topicPartition, default: []].append(message) }
        await withTaskGroup(of: Void.self) { group in
            for (partition, messages) in partitions {
                group.addTask {
                    let outgoing = await handler.handle(messages)
                    guard await publish(outgoing, producer: producer), let last = messages.last else { return }
                    do {
                        try consumer.storeOffsets([partition: last.offset + 1])
                    } catch {
                        // The partition moved on; its new owner is answered from the idempotency store.
                        logger.warning("could not mark done", metadata: ["partition": "\(partition)", "error": "\(error)"])
                    }
                }
            }
        }
    }

    /// Publishes until the broker acknowledges everything; false if the producer closed first.
    private func publish(_ messages: [KafkaProducerMessage], producer: KafkaProducer) async -> Bool {
        var attempt = 1
        while true {
            do {
                _ = try await producer.sendAll(messages)
                return true
            } catch let error as KafkaError where error.code == .closed {
                return false
            } catch {
                logger.error("publishing failed, trying again", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                try? await Task.sleep(for: configuration.retry.backoff(afterAttempt: attempt))
                attempt += 1
            }
        }
    }

    private func purgeIdempotencyRecords() async {
        while !Task.isCancelled {
            let cutoff = Int64(Date().timeIntervalSince1970) - configuration.idempotencyRetention.components.seconds
            do {
                let purged = try await store.purgeIdempotencyRecords(createdBefore: cutoff)
                if purged > 0 { logger.info("idempotency records expired", metadata: ["count": "\(purged)"]) }
            } catch {
                logger.warning("purging idempotency records failed", metadata: ["error": "\(error)"])
            }
            try? await Task.sleep(for: .seconds(3600))
        }
    }
}

/// Holds a revocation until the batch in hand is published and marked done, so the consumer
/// commits it before the partitions move.
struct FinishBeforeRevocation: KafkaRebalanceListener {
    let inFlight: InFlightWork
    let logger: Logger

    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async {}

    func partitionsRevoked(_ partitions: [KafkaTopicPartition], lost: Bool) async {
        await inFlight.waitUntilIdle()
    }
}
