import Kafka
import Logging
import PaymentsDomain

/// Publishes what a batch produced and confirms the broker took it: hands messages to the
/// current producer until librdkafka takes them, publishes again what failed for a passing
/// reason (on a new producer when the old one failed for good, see `ProducerSlot`), and
/// publishes a reply's follow-ups in its place when Kafka refuses it for good.
struct ReplyPublisher: Sendable {
    let producers: ProducerSlot
    /// Builds the follow-ups of a refused reply, and carries the configuration, metrics and log.
    let handler: CommandHandler
    /// Once it gives up the batches in flight (shutdown timeout), nothing is tried again.
    let inFlight: InFlightWork

    /// What a batch produced, handed to librdkafka in order, awaiting acknowledgement.
    struct Published: Sendable {
        let messages: [KafkaProducerMessage]
        let deliveries: any DeliveryResults
        /// The producer they were handed to (see `ProducerSlot`).
        let generation: Int
    }

    private var logger: Logger { handler.logger }
    private var metrics: WorkerMetrics { handler.metrics }
    private var retry: RetryPolicy { handler.configuration.publishRetry }

    /// Enqueues until librdkafka takes the messages; nil if the producer closed first.
    func enqueue(_ messages: [KafkaProducerMessage]) async -> Published? {
        let published: Published?? = await retry.run(stopWhen: { inFlight.isAbandoned }) { attempt in
            let current = producers.current
            do {
                return .done(Published(messages: messages, deliveries: try await current.producer.publish(messages),
                                       generation: current.generation))
            } catch let error as KafkaError where error.code == .closed {
                // Closed because it was replaced: the new one takes them.
                return producers.isReplaced(current.generation) ? .again : .done(nil)
            } catch {
                if producers.replaceIfFatal(current.generation) { return .again }
                logger.error("publishing failed, trying again", metadata: ["attempt": "\(attempt)", "error": "\(error)"])
                metrics.retried("publish")
                return .failed
            }
        }
        return published ?? nil
    }

    /// Waits for the acknowledgements, publishing again what failed for a passing reason;
    /// false if the producer closed or the batch was abandoned first (it then stays
    /// uncommitted and is handled again from the record). What Kafka refuses for good (a
    /// message too large, say) is never tried again: see `followUps(refused:_:answering:)`.
    func confirm(_ published: Published, answering commands: [KafkaConsumerMessage]) async -> Bool {
        var pending: Published? = published
        var unsent: [KafkaProducerMessage] = []
        let confirmed: Bool? = await retry.run(stopWhen: { inFlight.isAbandoned }) { attempt in
            if pending == nil {
                guard let next = await enqueue(unsent) else { return .done(false) }
                pending = next
            }
            guard let sent = pending else { return .done(false) }
            pending = nil
            unsent = []
            var failure: (any Error)?
            let results = await sent.deliveries.results()
            let replaced = producers.replaceIfFatal(sent.generation)
            for (message, result) in zip(sent.messages, results) {
                guard case .failure(let error) = result else { continue }
                let kafkaError = error as? KafkaError
                if kafkaError?.code == .closed, !replaced { return .done(false) }
                if let kafkaError, kafkaError.isPermanentForMessage {
                    unsent += followUps(refused: message, kafkaError, answering: commands)
                } else {
                    unsent.append(message)
                    failure = error
                }
            }
            guard !unsent.isEmpty else { return .done(true) }
            guard let failure else { return .again }
            logger.error("a delivery failed, publishing it again", metadata: ["attempt": "\(attempt)", "error": "\(failure)"])
            metrics.retried("publish")
            return .failed
        }
        return confirmed ?? false
    }

    /// A message Kafka will never take is logged with its command's position and counted,
    /// and the partition moves on. For a reply, the DLQ rules apply: the command's error
    /// event (`TOO_LARGE` when the reply was too large) and its DLQ copy are what is published
    /// instead. An error event or DLQ copy refused in turn is only logged.
    private func followUps(
        refused message: KafkaProducerMessage, _ error: KafkaError, answering commands: [KafkaConsumerMessage]
    ) -> [KafkaProducerMessage] {
        let source = message.headers.string(named: "source") ?? "-"
        logger.error("Kafka refused a message for good; the partition moves on", metadata: [
            "topic": "\(message.topic)", "source": "\(source)", "bytes": "\(message.value?.count ?? 0)", "error": "\(error)",
        ])
        metrics.publishRefused(message.topic)
        let topics = handler.configuration.topics
        // `source` is `<topic>/<partition>/<offset>` of the command the reply answers.
        let place = source.split(separator: "/").suffix(2)
        guard message.topic == topics.results, place.count == 2,
              let partition = place.first.flatMap({ Int32($0) }), let offset = place.last.flatMap({ Int64($0) }),
              let command = commands.first(where: { $0.partition == partition && $0.offset == offset }) else { return [] }
        let envelope = CommandEnvelope(command, clusterID: handler.clusterID)
        let code: DomainError.Code = error.isMessageTooLarge ? .tooLarge : .internal
        metrics.sentToDLQ(reason: "reply_refused")
        return [
            handler.errorEvent(for: envelope, command: envelope.command, error: DomainError(
                code, "the reply (\(message.value?.count ?? 0) bytes) could not be published: \(error.librdkafkaName); the command is in \(topics.dlq)")),
            handler.events.dlqCopy(of: envelope),
        ]
    }
}
