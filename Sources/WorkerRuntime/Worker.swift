import Foundation
import Kafka
import Logging
import PaymentsDomain
import ServiceLifecycle

/// The worker: consumes commands, hands each partition's batches to its `PartitionLane`,
/// which handles them in order through the `CommandHandler`, publishes what they produced
/// through the `ReplyPublisher`, and marks a batch done only once the broker has acknowledged
/// every reply, error event and DLQ copy of it and of the batches before it. A crash at any
/// point leaves the commands uncommitted; their redelivery is answered from the idempotency
/// store. Beside the lanes: the `HealthMonitor`, the `StatusReporter`, the `StoreOutage`
/// probe, and the shutdown timer.
public struct Worker: Service {
    let configuration: WorkerConfiguration
    let store: any PaymentStore
    let accounts: AccountDirectory
    let registry: PluginRegistry
    let reporting: WorkerReporting
    private(set) var transport: WorkerTransport

    /// Runs over the Kafka cluster of `configuration` (see `over(_:)` for another transport).
    public init(configuration: WorkerConfiguration, store: any PaymentStore, accounts: AccountDirectory,
                registry: PluginRegistry, reporting: WorkerReporting = WorkerReporting()) {
        self.configuration = configuration
        self.store = StoreWithDeadline(store: store, timeout: configuration.storeCallTimeout)
        self.accounts = accounts
        self.registry = registry
        self.reporting = reporting
        transport = .kafka(configuration, logger: reporting.logger)
    }

    /// The same worker, consuming and publishing through `transport`.
    public func over(_ transport: WorkerTransport) -> Worker {
        var worker = self
        worker.transport = transport
        return worker
    }

    private var logger: Logger { reporting.logger }
    private var health: WorkerHealth { reporting.health }

    public func run() async throws {
        let producers = try ProducerSlot(logger: logger, make: transport.makeProducer)
        await fetchOutputTopics(producers.current.producer)
        // Default idempotency keys start with it, so it is known before any command is read.
        guard let clusterID = await clusterID(of: producers.current.producer) else {
            await producers.close(timeout: .seconds(1))
            try await store.close()
            return
        }
        let inFlight = InFlightWork()
        let consumer = try transport.makeSource(FinishBeforeRevocation(inFlight: inFlight, logger: logger))
        logger.notice("worker started", metadata: [
            "group": "\(configuration.groupID)", "commands": "\(configuration.topics.commands)",
        ])
        health.set(.consumer, passing: true)
        reporting.metrics.storeAvailable(true)
        let outage = storeOutage(holding: consumer)
        let handler = CommandHandler(
            registry: registry, accounts: accounts, store: store, configuration: configuration, metrics: reporting.metrics,
            logger: logger, outage: outage, clusterID: clusterID)
        let publisher = ReplyPublisher(producers: producers, handler: handler, inFlight: inFlight)
        let monitor = HealthMonitor(producers: producers, consumer: consumer, inFlight: inFlight, handler: handler, health: health)
        let reporter = StatusReporter(
            instanceID: configuration.instanceID ?? StatusReporter.defaultInstanceID(), startedAt: Date(),
            publisher: publisher, consumer: consumer, health: health)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await reporter.run() }
            group.addTask { await monitor.purgeIdempotencyRecords() }
            group.addTask { await monitor.run() }
            group.addTask { await outage.run() }
            group.addTask { await drainOnShutdown(consumer: consumer, producers: producers, outage: outage, inFlight: inFlight) }
            var lanes: [KafkaTopicPartition: PartitionLane] = [:]
            while let batch = await consumer.nextBatch() {
                for (partition, messages) in Dictionary(grouping: batch, by: \.topicPartition) {
                    let lane = lanes[partition] ?? {
                        let lane = PartitionLane(partition: partition, handler: handler, publisher: publisher, consumer: consumer)
                        lanes[partition] = lane
                        group.addTask { await lane.run() }
                        return lane
                    }()
                    lane.submit(messages)
                }
                await inFlight.waitUntilBelow(configuration.maxBatchesInFlight)
            }
            for lane in lanes.values { lane.finish() }
            await inFlight.waitUntilIdle()
            // Drained: the lanes are ending, and the health check, the purge, the probe and
            // the shutdown timer have nothing left to do. Abandoned: a lane still in a store
            // call is interrupted, and its batch stays uncommitted.
            group.cancelAll()
        }
        health.set(.consumer, passing: false)
        await consumer.close()
        await reporter.publishFinal()
        await producers.close(timeout: inFlight.isAbandoned ? .seconds(1) : configuration.shutdownTimeout)
        try await store.close()
        if inFlight.isAbandoned {
            throw WorkerShutdownError(timeout: configuration.shutdownTimeout)
        }
        logger.notice("worker stopped")
    }

    /// Not fatal when it fails: the first publish to each topic fetches what is missing, only later.
    private func fetchOutputTopics(_ producer: any ReplyProducer) async {
        let topics = configuration.topics
        do {
            try await producer.prepare(topics: [topics.results, topics.errors, topics.dlq, topics.status], timeout: .seconds(10))
        } catch {
            logger.warning("could not fetch the output topics' metadata", metadata: ["error": "\(error)"])
        }
    }

    /// On SIGTERM: stop fetching and close the consumer (the revocation waits for the batches
    /// in flight, then commits). Draining may never end (a broker gone with replies
    /// unacknowledged): past the shutdown timeout what is left is given up uncommitted, and
    /// the producer is closed so that acknowledgements still awaited fail at once.
    /// Cancelled when the worker ends first.
    private func drainOnShutdown(consumer: any CommandSource, producers: ProducerSlot, outage: StoreOutage, inFlight: InFlightWork) async {
        guard (try? await gracefulShutdown()) != nil else { return }
        health.set(.consumer, passing: false)
        async let closed: Void = consumer.close()
        try? await Task.sleep(for: configuration.shutdownTimeout)
        if !Task.isCancelled {
            outage.giveUp()
            let abandoned = inFlight.abandon()
            if abandoned > 0 {
                logger.error("shutdown timeout: abandoning batches in flight uncommitted", metadata: ["batches": "\(abandoned)"])
                await producers.close(timeout: .seconds(1))
            }
        }
        await closed
    }

    /// The cluster's id, asked again until a broker answers; nil if the worker is told to stop
    /// first (it has not joined its group then, so there is nothing to drain).
    private func clusterID(of producer: any ReplyProducer) async -> String? {
        let (retry, logger) = (configuration.storeProbe, logger)
        return await cancelWhenGracefulShutdown {
            await retry.run { attempt -> RetryPolicy.Try<String> in
                do {
                    let id = try await producer.clusterID(timeout: .seconds(5))
                    logger.info("cluster id read", metadata: ["cluster_id": "\(id)"])
                    return .done(id)
                } catch {
                    logger.warning("no broker answered yet; trying again", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                    return .failed
                }
            }
        }
    }

    /// While the store is away every partition's fetching is held (the consumer is still
    /// polled, so the worker stays in its group), readiness fails with the reason, and the
    /// outage is logged and counted once when it opens and once when it closes.
    private func storeOutage(holding consumer: any CommandSource) -> StoreOutage {
        let (health, metrics, logger) = (health, reporting.metrics, logger)
        return StoreOutage(retry: configuration.storeProbe, probe: { [store] in try await store.ping() }) { reason in
            do {
                try consumer.holdFetching(reason != nil)
            } catch {
                logger.warning("could not \(reason != nil ? "hold" : "release") fetching", metadata: ["error": "\(error)"])
            }
            metrics.storeAvailable(reason == nil)
            if let reason {
                health.set(.store, passing: false, reason: reason)
                logger.error("store unavailable: all partitions paused until it answers", metadata: ["reason": "\(reason)"])
            } else {
                health.set(.store, passing: true)
                logger.notice("store available again: partitions resumed")
            }
        }
    }
}

/// Where the worker reports what it does: its metrics, its health for the operations
/// endpoint, and its log.
public struct WorkerReporting: Sendable {
    public var metrics: WorkerMetrics
    public var health: WorkerHealth
    public var logger: Logger

    public init(metrics: WorkerMetrics = WorkerMetrics(), health: WorkerHealth = WorkerHealth(),
                logger: Logger = Logger(label: "payment-worker")) {
        self.metrics = metrics
        self.health = health
        self.logger = logger
    }
}

/// `Worker.run` throws it when the shutdown timeout passed with batches still in flight:
/// they were given up uncommitted, so the exit status says the drain did not finish.
public struct WorkerShutdownError: Error, CustomStringConvertible {
    public let timeout: Duration

    public var description: String {
        "batches in flight were not acknowledged within the shutdown timeout (\(timeout)); they were left uncommitted and will be delivered again"
    }
}

/// Holds a revocation until every batch in flight is published and marked done, so the
/// consumer commits them before the partitions move.
struct FinishBeforeRevocation: KafkaRebalanceListener {
    let inFlight: InFlightWork
    let logger: Logger

    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async {}

    func partitionsRevoked(_ partitions: [KafkaTopicPartition], lost: Bool) async {
        await inFlight.waitUntilIdle()
    }
}
