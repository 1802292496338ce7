import Foundation
import Kafka
import Logging
import PaymentsDomain
import ServiceLifecycle

/// The worker: consumes commands, hands each partition's batches to the `CommandHandler` in
/// order, publishes what it returns, and marks a batch done only once the broker has
/// acknowledged every reply, error event and DLQ copy of it and of the batches before it. A crash at any point leaves the commands
/// uncommitted; their redelivery is answered from the idempotency store.
public struct Worker: Service {
    let configuration: WorkerConfiguration
    let store: any PaymentStore
    let accounts: AccountDirectory
    let registry: PluginRegistry
    let metrics: WorkerMetrics
    let health: WorkerHealth
    let logger: Logger
    let transport: WorkerTransport

    /// `transport` defaults to the Kafka cluster of `configuration`.
    public init(configuration: WorkerConfiguration, store: any PaymentStore, accounts: AccountDirectory,
                registry: PluginRegistry, metrics: WorkerMetrics = WorkerMetrics(), health: WorkerHealth = WorkerHealth(),
                logger: Logger = Logger(label: "payment-worker"), transport: WorkerTransport? = nil) {
        self.transport = transport ?? .kafka(configuration, logger: logger)
        self.configuration = configuration
        self.store = StoreWithDeadline(store: store, timeout: configuration.storeCallTimeout)
        self.accounts = accounts
        self.registry = registry
        self.metrics = metrics
        self.health = health
        self.logger = logger
    }

    public func run() async throws {
        let producers = try ProducerSlot(logger: logger, make: transport.makeProducer)
        let producer = producers.current.producer
        let topics = configuration.topics
        do {
            try await producer.prepare(topics: [topics.results, topics.errors, topics.dlq, topics.status], timeout: .seconds(10))
        } catch {
            // Not fatal: the first publish to each topic fetches what is missing, only later.
            logger.warning("could not fetch the output topics' metadata", metadata: ["error": "\(error)"])
        }
        // Default idempotency keys start with it, so it is known before any command is read.
        guard let clusterID = await clusterID(of: producer) else {
            await producer.close(timeout: .seconds(1))
            try await store.close()
            return
        }
        let inFlight = InFlightWork()
        let consumer = try transport.makeSource(FinishBeforeRevocation(inFlight: inFlight, logger: logger))
        logger.notice("worker started", metadata: [
            "group": "\(configuration.groupID)", "commands": "\(configuration.topics.commands)",
        ])
        health.set(.consumer, passing: true)
        metrics.storeAvailable(true)
        let outage = storeOutage(holding: consumer)
        let handler = CommandHandler(registry: registry, accounts: accounts, store: store, configuration: configuration,
                                     metrics: metrics, logger: logger, outage: outage, clusterID: clusterID)
        let reporter = StatusReporter(
            configuration: configuration, instanceID: configuration.instanceID ?? StatusReporter.defaultInstanceID(), startedAt: Date(),
            producers: producers, consumer: consumer, inFlight: inFlight, outage: outage, health: health, metrics: metrics)
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await reporter.run() }
            group.addTask { await purgeIdempotencyRecords() }
            group.addTask { await watch(consumer: consumer, producers: producers, outage: outage, inFlight: inFlight) }
            group.addTask { await outage.run() }
            group.addTask { await drainOnShutdown(consumer: consumer, producers: producers, outage: outage, inFlight: inFlight) }
            var lanes: [KafkaTopicPartition: PartitionLane] = [:]
            while let batch = await consumer.nextBatch() {
                var partitions: [KafkaTopicPartition: [KafkaConsumerMessage]] = [:]
                for message in batch { partitions[message.topicPartition, default: []].append(message) }
                for (partition, messages) in partitions {
                    let lane = lanes[partition] ?? {
                        let lane = PartitionLane(partition: partition)
                        lanes[partition] = lane
                        group.addTask { await drive(lane, handler: handler, consumer: consumer, producers: producers, inFlight: inFlight) }
                        return lane
                    }()
                    lane.submit(messages, inFlight: inFlight)
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

    /// One partition's batches, in order: a child task of the worker's task group, from its
    /// first batch until the consumer closes.
    final class PartitionLane: Sendable {
        let partition: KafkaTopicPartition
        typealias Batch = (id: Int, messages: [KafkaConsumerMessage], arrived: ContinuousClock.Instant)
        let batches: AsyncStream<Batch>
        private let input: AsyncStream<Batch>.Continuation

        init(partition: KafkaTopicPartition) {
            self.partition = partition
            (batches, input) = AsyncStream.makeStream()
        }

        func submit(_ messages: [KafkaConsumerMessage], inFlight: InFlightWork) {
            input.yield((inFlight.begin(partition, from: messages.first?.offset ?? -1), messages, ContinuousClock.now))
        }

        func finish() {
            input.finish()
        }
    }

    /// What a batch produced, handed to librdkafka in order, awaiting acknowledgement.
    struct Published: Sendable {
        let messages: [KafkaProducerMessage]
        let deliveries: any DeliveryResults
        /// The producer they were handed to (see `ProducerSlot`).
        let generation: Int
    }

    /// Two stages per batch, each in partition order. The first (handle, enqueuing what to
    /// publish after each store transaction) takes the batches one after the other, so a
    /// partition's commands and replies keep their order. The second (await the
    /// acknowledgements, then mark done) follows it batch by batch, so offsets advance in
    /// order, and overlaps the next batches' first stage.
    private func drive(
        _ lane: PartitionLane, handler: CommandHandler, consumer: any CommandSource, producers: ProducerSlot, inFlight: InFlightWork
    ) async {
        let (handledBatches, handled) = AsyncStream<(id: Int, messages: [KafkaConsumerMessage], published: [Published]?, arrived: ContinuousClock.Instant)>.makeStream()
        await withTaskGroup(of: Void.self) { stages in
            stages.addTask {
                for await batch in handledBatches {
                    await finish(batch.messages, id: batch.id, published: batch.published, arrived: batch.arrived, of: lane.partition,
                                 handler: handler, consumer: consumer, producers: producers, inFlight: inFlight)
                }
            }
            for await batch in lane.batches {
                inFlight.stage(batch.id, "handling its commands")
                var published: [Published] = []
                var producerClosed = false
                let complete = await handler.handle(batch.messages) { outgoing in
                    guard !producerClosed else { return }
                    if let part = await enqueue(outgoing, producers: producers, inFlight: inFlight) { published.append(part) } else { producerClosed = true }
                }
                inFlight.stage(batch.id, "waiting for the batch before it to be done")
                handled.yield((batch.id, batch.messages, producerClosed || !complete ? nil : published, batch.arrived))
            }
            handled.finish()
        }
    }

    /// The second stage: waits for the broker's acknowledgements of what the batch produced,
    /// then marks it done; a batch not handled completely (shutdown, producer closed) stays
    /// uncommitted.
    private func finish(
        _ messages: [KafkaConsumerMessage], id: Int, published: [Published]?, arrived: ContinuousClock.Instant,
        of partition: KafkaTopicPartition, handler: CommandHandler, consumer: any CommandSource, producers: ProducerSlot,
        inFlight: InFlightWork
    ) async {
        defer { inFlight.end(id) }
        guard let published else { return }
        inFlight.stage(id, "awaiting the broker's acknowledgements")
        var acknowledged = true
        for part in published where acknowledged {
            acknowledged = await confirm(part, of: messages, handler: handler, producers: producers, inFlight: inFlight)
        }
        guard acknowledged, let last = messages.last else { return }
        metrics.handled(messages.count, took: ContinuousClock.now - arrived)
        do {
            try consumer.storeOffsets([partition: last.offset + 1])
        } catch {
            // The partition moved on; its new owner is answered from the idempotency store.
            logger.warning("could not mark done", metadata: ["partition": "\(partition)", "error": "\(error)"])
        }
    }

    /// The cluster's id, asked again until a broker answers; nil if the worker is told to stop
    /// first (it has not joined its group then, so there is nothing to drain).
    private func clusterID(of producer: any ReplyProducer) async -> String? {
        var attempt = 1
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do {
                let id = try await producer.clusterID(timeout: .seconds(5))
                logger.info("cluster id read", metadata: ["cluster_id": "\(id)"])
                return id
            } catch {
                logger.warning("no broker answered yet; trying again", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                let tried = attempt
                await cancelWhenGracefulShutdown { await configuration.storeProbe.pause(afterAttempt: tried) }
                attempt += 1
            }
        }
        return nil
    }

    /// While the store is away every partition's fetching is held (the consumer is still
    /// polled, so the worker stays in its group), readiness fails with the reason, and the
    /// outage is logged and counted once when it opens and once when it closes.
    private func storeOutage(holding consumer: any CommandSource) -> StoreOutage {
        StoreOutage(retry: configuration.storeProbe, probe: { [store] in try await store.ping() }) { [health, metrics, logger] reason in
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

    /// Enqueues until librdkafka takes the messages; nil if the producer closed first.
    private func enqueue(_ messages: [KafkaProducerMessage], producers: ProducerSlot, inFlight: InFlightWork) async -> Published? {
        var attempt = 1
        while !inFlight.isAbandoned {
            let current = producers.current
            do {
                return Published(messages: messages, deliveries: try await current.producer.publish(messages),
                                 generation: current.generation)
            } catch let error as KafkaError where error.code == .closed {
                // Closed because it was replaced: the new one takes them.
                guard producers.isReplaced(current.generation) else { return nil }
            } catch {
                if producers.replaceIfFatal(current.generation) { continue }
                logger.error("publishing failed, trying again", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                metrics.retried("publish")
                await configuration.publishRetry.pause(afterAttempt: attempt)
                attempt += 1
            }
        }
        return nil
    }

    /// Waits for the acknowledgements, publishing again what failed for a passing reason;
    /// false if the producer closed or the batch was abandoned first (it then stays
    /// uncommitted and is handled again from the record). What Kafka refuses for good (a
    /// message too large, say) is never tried again: see `refused`.
    private func confirm(
        _ published: Published, of commands: [KafkaConsumerMessage], handler: CommandHandler, producers: ProducerSlot,
        inFlight: InFlightWork
    ) async -> Bool {
        var attempt = 1
        var pending = published
        while !inFlight.isAbandoned {
            var again: [KafkaProducerMessage] = []
            var failure: (any Error)?
            let results = await pending.deliveries.results()
            let replaced = producers.replaceIfFatal(pending.generation)
            for (message, result) in zip(pending.messages, results) {
                guard case .failure(let error) = result else { continue }
                let kafkaError = error as? KafkaError
                if kafkaError?.code == .closed, !replaced { return false }
                if let kafkaError, kafkaError.isPermanentForMessage {
                    again += refused(message, kafkaError, commands: commands, handler: handler)
                } else {
                    again.append(message)
                    failure = error
                }
            }
            guard !again.isEmpty else { return true }
            if let failure {
                logger.error("a delivery failed, publishing it again", metadata: ["attempt": "\(attempt)", "error": "\(failure)"])
                metrics.retried("publish")
                await configuration.publishRetry.pause(afterAttempt: attempt)
                attempt += 1
            }
            guard let next = await enqueue(again, producers: producers, inFlight: inFlight) else { return false }
            pending = next
        }
        return false
    }

    /// A message Kafka will never take is logged with its command's position and counted,
    /// and the partition moves on. For a reply, the DLQ rules apply: the command's error
    /// event (`TOO_LARGE` when the reply was too large) and its DLQ copy are what is published
    /// instead. An error event or DLQ copy refused in turn is only logged.
    private func refused(
        _ message: KafkaProducerMessage, _ error: KafkaError, commands: [KafkaConsumerMessage], handler: CommandHandler
    ) -> [KafkaProducerMessage] {
        let source = message.headers.string(named: "source") ?? "-"
        logger.error("Kafka refused a message for good; the partition moves on", metadata: [
            "topic": "\(message.topic)", "source": "\(source)", "bytes": "\(message.value?.count ?? 0)", "error": "\(error)",
        ])
        metrics.publishRefused(message.topic)
        // `source` is `<topic>/<partition>/<offset>` of the command the reply answers.
        let place = source.split(separator: "/").suffix(2)
        guard message.topic == configuration.topics.results, place.count == 2,
              let partition = place.first.flatMap({ Int32($0) }), let offset = place.last.flatMap({ Int64($0) }),
              let command = commands.first(where: { $0.partition == partition && $0.offset == offset }) else { return [] }
        let envelope = CommandEnvelope(command, clusterID: handler.clusterID)
        let code: DomainError.Code = error.isMessageTooLarge ? .tooLarge : .internal
        metrics.sentToDLQ(reason: "reply_refused")
        return [
            handler.errorEvent(for: envelope, command: envelope.command, error: DomainError(
                code, "the reply (\(message.value?.count ?? 0) bytes) could not be published: \(error.librdkafkaName); the command is in \(configuration.topics.dlq)")),
            handler.events.dlqCopy(of: envelope),
        ]
    }

    /// Every few seconds: is the store answering, is a broker answering, how far behind is
    /// each partition. Readiness and the lag gauges come from here.
    /// A batch in flight with nothing done for longer than the liveness window, while neither
    /// the store nor the broker is known to be away (those are waited out, and readiness says
    /// so), means the worker is stuck: `/health/live` fails, and the log says where.
    private func checkLiveness(inFlight: InFlightWork, outage: StoreOutage, brokerAnswers: Bool) {
        let stuck = outage.reason == nil && brokerAnswers ? inFlight.stalled(longerThan: configuration.livenessWindow) : nil
        if let stuck {
            guard health.isLive else { return }
            health.setLive(false, reason: "no progress for \(stuck.for): partition \(stuck.batch.partition) from offset \(stuck.batch.offset) is \(stuck.batch.stage)")
            logger.critical("stuck: no batch done for longer than the liveness window", metadata: [
                "partition": "\(stuck.batch.partition)", "offset": "\(stuck.batch.offset)", "waiting_for": "\(stuck.batch.stage)",
                "for": "\(stuck.for)",
            ])
        } else if !health.isLive {
            health.setLive(true)
            logger.notice("progress again: live")
        }
    }

    private func watch(consumer: any CommandSource, producers: ProducerSlot, outage: StoreOutage, inFlight: InFlightWork) async {
        var reported: Set<KafkaTopicPartition> = []
        while !Task.isCancelled {
            let interval = configuration.healthCheckInterval
            // An idle worker learns of an outage here; a busy one from its own calls.
            if outage.reason == nil {
                do {
                    try await store.ping()
                    if outage.reason == nil { health.set(.store, passing: true) }
                } catch let error as StoreError where error.kind == .unavailable {
                    outage.report(error)
                } catch {
                    health.set(.store, passing: false, reason: "\(error)")
                }
            }
            let brokerAnswers = await Self.answers(within: interval) {
                try await producers.current.producer.prepare(topics: [configuration.topics.results], timeout: interval)
            }
            health.set(.broker, passing: brokerAnswers)
            checkLiveness(inFlight: inFlight, outage: outage, brokerAnswers: brokerAnswers)
            if let lag = try? consumer.lag() {
                for (partition, messages) in lag { metrics.lag(partition, messages: messages) }
                // A partition given up reads 0 rather than its last value.
                for partition in reported.subtracting(lag.keys) { metrics.lag(partition, messages: 0) }
                reported = Set(lag.keys)
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// Whether `probe` succeeds before the deadline.
    private static func answers(within deadline: Duration, _ probe: @escaping @Sendable () async throws -> Void) async -> Bool {
        (try? await withDeadline(deadline, onTimeout: { CancellationError() }, probe)) != nil
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
