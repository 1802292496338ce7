import Kafka
import Logging

/// One partition's batches, in order, from its first batch until the consumer closes. Two
/// stages per batch, each in partition order. The first (`handle`: the commands, enqueuing
/// what to publish after each store transaction) takes the batches one after the other, so a
/// partition's commands and replies keep their order. The second (`complete`: await the
/// acknowledgements, then mark the batch done) follows it batch by batch, so offsets advance
/// in order, and overlaps the next batches' first stage.
final class PartitionLane: Sendable {
    let partition: KafkaTopicPartition
    private let handler: CommandHandler
    private let publisher: ReplyPublisher
    private let consumer: any CommandSource
    private var inFlight: InFlightWork { publisher.inFlight }

    /// A batch waiting for the first stage.
    private struct Arrived: Sendable {
        let id: Int
        let messages: [KafkaConsumerMessage]
        let at: ContinuousClock.Instant
    }

    /// A batch the first stage is done with: what it published, or nil when it was not
    /// handled completely (shutdown, producer closed) and so stays uncommitted.
    private struct Handled: Sendable {
        let batch: Arrived
        let published: [ReplyPublisher.Published]?
    }

    private let arrived: AsyncStream<Arrived>
    private let input: AsyncStream<Arrived>.Continuation

    init(partition: KafkaTopicPartition, handler: CommandHandler, publisher: ReplyPublisher, consumer: any CommandSource) {
        self.partition = partition
        self.handler = handler
        self.publisher = publisher
        self.consumer = consumer
        (arrived, input) = AsyncStream.makeStream()
    }

    func submit(_ messages: [KafkaConsumerMessage]) {
        input.yield(Arrived(id: inFlight.begin(partition, from: messages.first?.offset ?? -1), messages: messages, at: .now))
    }

    /// No more batches: `run` returns once those submitted are through both stages.
    func finish() {
        input.finish()
    }

    func run() async {
        let (handledBatches, handled) = AsyncStream<Handled>.makeStream()
        await withTaskGroup(of: Void.self) { stages in
            stages.addTask { [self] in
                for await batch in handledBatches { await complete(batch) }
            }
            for await batch in arrived { handled.yield(await handle(batch)) }
            handled.finish()
        }
    }

    /// The first stage: the batch's commands, what they produced enqueued as it comes.
    private func handle(_ batch: Arrived) async -> Handled {
        inFlight.stage(batch.id, "handling its commands")
        var published: [ReplyPublisher.Published] = []
        var producerClosed = false
        let complete = await handler.handle(batch.messages) { outgoing in
            guard !producerClosed else { return }
            if let part = await publisher.enqueue(outgoing) { published.append(part) } else { producerClosed = true }
        }
        inFlight.stage(batch.id, "waiting for the batch before it to be done")
        return Handled(batch: batch, published: producerClosed || !complete ? nil : published)
    }

    /// The second stage: waits for the broker's acknowledgements of what the batch produced,
    /// then marks it done.
    private func complete(_ handled: Handled) async {
        let batch = handled.batch
        defer { inFlight.end(batch.id) }
        guard let published = handled.published else { return }
        inFlight.stage(batch.id, "awaiting the broker's acknowledgements")
        for part in published {
            guard await publisher.confirm(part, answering: batch.messages) else { return }
        }
        guard let last = batch.messages.last else { return }
        handler.metrics.handled(batch.messages.count, took: .now - batch.at)
        do {
            try consumer.storeOffsets([partition: last.offset + 1])
        } catch {
            // The partition moved on; its new owner is answered from the idempotency store.
            handler.logger.warning("could not mark done", metadata: ["partition": "\(partition)", "error": "\(error)"])
        }
    }
}
