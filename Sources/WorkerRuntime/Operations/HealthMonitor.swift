import Foundation
import Kafka
import Logging
import PaymentsDomain

/// What the worker checks on its own, on a timer: readiness (is the store answering, is a
/// broker answering), liveness (is a batch making progress), each partition's lag, and the
/// expiry of old idempotency records.
struct HealthMonitor: Sendable {
    let producers: ProducerSlot
    let consumer: any CommandSource
    let inFlight: InFlightWork
    /// Its store and outage, and the configuration: the check interval, the liveness window
    /// and the retention.
    let handler: CommandHandler
    let health: WorkerHealth

    private var store: any PaymentStore { handler.store }
    private var outage: StoreOutage { handler.outage }
    private var configuration: WorkerConfiguration { handler.configuration }
    private var metrics: WorkerMetrics { handler.metrics }
    private var logger: Logger { handler.logger }

    /// Every `healthCheckInterval` until cancelled.
    func run() async {
        var reported: Set<KafkaTopicPartition> = []
        while !Task.isCancelled {
            let interval = configuration.healthCheckInterval
            await checkStore()
            let brokerAnswers = await Self.answers(within: interval) {
                try await producers.current.producer.prepare(topics: [configuration.topics.results], timeout: interval)
            }
            health.set(.broker, passing: brokerAnswers)
            checkLiveness(brokerAnswers: brokerAnswers)
            reported = reportLag(after: reported)
            try? await Task.sleep(for: interval)
        }
    }

    /// Hourly until cancelled: idempotency records past the retention are deleted.
    func purgeIdempotencyRecords() async {
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

    /// An idle worker learns of an outage here; a busy one from its own calls.
    private func checkStore() async {
        guard outage.reason == nil else { return }
        do {
            try await store.ping()
            if outage.reason == nil { health.set(.store, passing: true) }
        } catch let error as StoreError where error.kind == .unavailable {
            outage.report(error)
        } catch {
            health.set(.store, passing: false, reason: "\(error)")
        }
    }

    /// A batch in flight with nothing done for longer than the liveness window, while neither
    /// the store nor the broker is known to be away (those are waited out, and readiness says
    /// so), means the worker is stuck: `/health/live` fails, and the log says where.
    private func checkLiveness(brokerAnswers: Bool) {
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

    /// Sets each assigned partition's lag gauge; returns the partitions reported.
    private func reportLag(after reported: Set<KafkaTopicPartition>) -> Set<KafkaTopicPartition> {
        guard let lag = try? consumer.lag() else { return reported }
        for (partition, messages) in lag { metrics.lag(partition, messages: messages) }
        // A partition given up reads 0 rather than its last value.
        for partition in reported.subtracting(lag.keys) { metrics.lag(partition, messages: 0) }
        return Set(lag.keys)
    }

    /// Whether `probe` succeeds before the deadline.
    private static func answers(within deadline: Duration, _ probe: @escaping @Sendable () async throws -> Void) async -> Bool {
        (try? await withDeadline(deadline, onTimeout: { CancellationError() }, probe)) != nil
    }
}
