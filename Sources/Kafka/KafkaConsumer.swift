import CRDKafka
import Logging
import Synchronization

/// A group consumer that hands messages over in batches and commits only offsets its owner
/// has marked done.
///
/// A thread of its own polls librdkafka and serves the group's rebalances (see
/// `KafkaRebalanceListener`); `batches` yields what it polled, with backpressure.
/// `markDone` stores an offset; librdkafka commits stored offsets every `commitInterval`,
/// on `commit()`, before every revocation, and on `close()`.
public final class KafkaConsumer: Sendable {
    private let client: RDKafkaClient
    private let buffer: ConsumerMessageBuffer
    private let control = PollLoopControl()
    /// The next offsets `storeOffsets` last recorded, for `lag()`.
    private let storedOffsets = Mutex<[KafkaTopicPartition: Int64]>([:])
    private let pollThread: KafkaPollThread
    private let coordinator: ConsumerRebalanceCoordinator
    private let pauses: FetchPauses
    /// Subscribed to a group, rather than assigned partitions outside any.
    private let isGroupMember: Bool

    /// A member of `configuration.groupID` subscribed to `topics`.
    public convenience init(
        configuration: KafkaConsumerConfiguration,
        topics: [String],
        logger: Logger = Logger(label: "kafka.consumer"),
        rebalanceListener: (any KafkaRebalanceListener)? = nil,
        errorHandler: (@Sendable (KafkaError) -> Void)? = nil
    ) throws {
        try self.init(
            configuration: configuration, logger: logger, rebalanceListener: rebalanceListener, errorHandler: errorHandler, isGroupMember: true)
        let subscription = NativePartitionList(topics.map { KafkaTopicPartition(topic: $0, partition: RD_KAFKA_PARTITION_UA) })
        let error = rd_kafka_subscribe(client.handle, subscription.pointer)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: .subscription, responseError: error, context: "subscribing to \(topics)")
        }
        let strategy = configuration.librdkafkaProperties()["partition.assignment.strategy"] ?? ""
        coordinator.subscribed(cooperativeSticky: strategy.contains("cooperative-sticky"))
    }

    /// Reads every partition of `topics` from its end as the broker reports it now, outside
    /// any group: what is produced after this returns is never missed, and nothing older is
    /// read. For a tool that sends a request and waits for its answer, or follows a topic.
    public static func fromEnd(
        of topics: [String],
        configuration: KafkaConsumerConfiguration,
        logger: Logger = Logger(label: "kafka.consumer"),
        timeout: Duration = .seconds(10)
    ) async throws -> KafkaConsumer {
        try await assigned(to: topics, from: .offset { $1.upperBound }, configuration: configuration, logger: logger, timeout: timeout).consumer
    }

    /// Reads every partition of `topics` from the oldest message it holds, outside any group;
    /// also returns each partition's offsets as the broker reported them (`lowerBound` the
    /// oldest, `upperBound` the next to come), so that a tool can read what is there and stop.
    public static func fromStart(
        of topics: [String],
        configuration: KafkaConsumerConfiguration,
        logger: Logger = Logger(label: "kafka.consumer"),
        timeout: Duration = .seconds(10)
    ) async throws -> (consumer: KafkaConsumer, offsets: [KafkaTopicPartition: Range<Int64>]) {
        let reader = try await assigned(to: topics, from: .offset { $1.lowerBound }, configuration: configuration, logger: logger, timeout: timeout)
        return (reader.consumer, reader.offsets)
    }

    /// Where an assigned reader starts in each partition.
    public enum StartPosition: Sendable {
        /// An offset chosen from the partition's offsets as the broker reports them now
        /// (clamped to them).
        case offset(@Sendable (KafkaTopicPartition, Range<Int64>) -> Int64)
        /// The first message at or after this time (milliseconds since 1970), else the end.
        case time(millisecondsSince1970: Int64)
    }

    /// Reads every partition of `topics` from `start`, outside any group; also returns each
    /// partition's offsets as the broker reported them and where the reader starts in it.
    public static func assigned(
        to topics: [String],
        from start: StartPosition,
        configuration: KafkaConsumerConfiguration,
        logger: Logger = Logger(label: "kafka.consumer"),
        timeout: Duration = .seconds(10)
    ) async throws -> (consumer: KafkaConsumer, offsets: [KafkaTopicPartition: Range<Int64>], starts: [KafkaTopicPartition: Int64]) {
        let consumer = try KafkaConsumer(
            configuration: configuration, logger: logger, rebalanceListener: nil, errorHandler: nil, isGroupMember: false)
        do {
            // `timeout` bounds all the calls together, not each: a topic of many partitions
            // on a slow broker still answers within it.
            let budget = TimeBudget(timeout)
            let (offsets, starts) = try await consumer.client.runBlocking { handle in
                var offsets: [KafkaTopicPartition: Range<Int64>] = [:]
                for topic in topics {
                    for partition in try RDKafkaClient.partitions(of: topic, handle: handle, timeout: budget.remaining) {
                        offsets[partition] = try RDKafkaClient.watermarks(of: partition, handle: handle, timeout: budget.remaining)
                    }
                }
                var starts: [KafkaTopicPartition: Int64]
                switch start {
                case .offset(let choose):
                    starts = offsets.reduce(into: [:]) { starts, entry in
                        starts[entry.key] = min(max(choose(entry.key, entry.value), entry.value.lowerBound), entry.value.upperBound)
                    }
                case .time(let milliseconds):
                    starts = try RDKafkaClient.offsets(at: milliseconds, in: Array(offsets.keys), handle: handle, timeout: budget.remaining)
                    for (partition, range) in offsets where (starts[partition] ?? -1) < 0 { starts[partition] = range.upperBound }
                }
                let list = NativePartitionList(Array(offsets.keys), offsets: starts)
                let error = rd_kafka_assign(handle, list.pointer)
                guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                    throw KafkaError(code: .subscription, responseError: error, context: "assigning \(topics)")
                }
                return (offsets, starts)
            }
            return (consumer, offsets, starts)
        } catch {
            await consumer.close()
            throw error
        }
    }

    private init(
        configuration: KafkaConsumerConfiguration,
        logger: Logger,
        rebalanceListener: (any KafkaRebalanceListener)?,
        errorHandler: (@Sendable (KafkaError) -> Void)?,
        isGroupMember: Bool
    ) throws {
        self.isGroupMember = isGroupMember
        let batchCapacity = max(1, configuration.maxBufferedMessages / max(1, configuration.maxBatchSize))
        let buffer = ConsumerMessageBuffer(capacity: batchCapacity)
        let pauses = FetchPauses()
        let coordinator = ConsumerRebalanceCoordinator(buffer: buffer, pauses: pauses, listener: rebalanceListener, logger: logger)
        let client = try RDKafkaClient(
            type: RD_KAFKA_CONSUMER,
            properties: configuration.librdkafkaProperties(),
            context: KafkaClientContext(logger: logger, errorHandler: errorHandler, rebalanceHandler: coordinator)
        )
        // Group callbacks and messages then come from one queue, served by one thread.
        rd_kafka_poll_set_consumer(client.handle)
        self.client = client
        self.buffer = buffer
        self.coordinator = coordinator
        self.pauses = pauses
        let control = self.control
        let maxBatchSize = max(1, configuration.maxBatchSize)
        self.pollThread = KafkaPollThread(name: "kafka-consumer-poll") {
            Self.pollLoop(client: client, buffer: buffer, coordinator: coordinator, pauses: pauses, control: control,
                          maxBatchSize: maxBatchSize, errorHandler: errorHandler)
        }
    }

    private static func pollLoop(
        client: RDKafkaClient,
        buffer: ConsumerMessageBuffer,
        coordinator: ConsumerRebalanceCoordinator,
        pauses: FetchPauses,
        control: PollLoopControl,
        maxBatchSize: Int,
        errorHandler: (@Sendable (KafkaError) -> Void)?
    ) {
        let clock = ContinuousClock()
        /// Polled, not yet taken by the owner.
        var held: [KafkaConsumerMessage] = []
        var topicNames = TopicNameCache()
        var fullSince: ContinuousClock.Instant?
        while !control.isStopRequested {
            let generation = coordinator.generation
            // While a batch waits for room, the consumer is still polled (so it stays in its
            // group and serves rebalances), but takes nothing new unless fetching is paused.
            let polling = held.isEmpty || pauses.isHoldingAll
            var timeout: Int32 = held.isEmpty ? 100 : 0
            var taken = 0
            while polling, taken < maxBatchSize, let polled = rd_kafka_consumer_poll(client.handle, timeout) {
                timeout = 0
                taken += 1
                defer { rd_kafka_message_destroy(polled) }
                let status = polled.pointee.err
                if status == RD_KAFKA_RESP_ERR_NO_ERROR {
                    let message = KafkaConsumerMessage(UnsafePointer(polled), topicNames: &topicNames)
                    pauses.polled(message.topicPartition, offset: message.offset)
                    held.append(message)
                } else if status != RD_KAFKA_RESP_ERR__PARTITION_EOF {
                    let error = KafkaError(code: .consume, responseError: status)
                    client.logger.warning("consume error", metadata: ["error": "\(error)"])
                    errorHandler?(error)
                }
            }
            // A rebalance served inside these polls may have revoked partitions of messages
            // already polled: those are not ours to hand over any more.
            if coordinator.generation != generation {
                held.removeAll { !coordinator.isAssigned($0.topicPartition) }
            }
            guard !held.isEmpty else {
                // Nothing waits for room (a revocation may have taken all that did): no backlog.
                fullSince = nil
                setBacklog(false, pauses: pauses, client: client)
                continue
            }
            switch buffer.push(held, waitingAtMost: .milliseconds(100)) {
            case .accepted:
                held = []
                fullSince = nil
                setBacklog(false, pauses: pauses, client: client)
            case .full:
                // Full for a moment is normal flow; full for longer means the owner is held
                // up, so fetching stops (and the poll above goes on, taking only stragglers).
                let since = fullSince ?? clock.now
                fullSince = since
                if clock.now - since >= backlogPause { setBacklog(true, pauses: pauses, client: client) }
            case .finished:
                held = []
                control.requestStop(drainTimeout: .zero)
            }
        }
        // Closing in the middle of the first join would abort the process (see
        // `isAwaitingFirstAssignment`): the join is let finish, for a bounded time. Messages
        // polled meanwhile are not handed over and not marked done, so they are delivered again.
        let joinDeadline = ContinuousClock.now + .seconds(10)
        while coordinator.isAwaitingFirstAssignment, ContinuousClock.now < joinDeadline {
            if let polled = rd_kafka_consumer_poll(client.handle, 100) { rd_kafka_message_destroy(polled) }
        }
        if coordinator.isAwaitingFirstAssignment {
            // Still joining (the group may be waiting out a dead member's session): closing
            // or destroying now would abort, so the handle is left to the process's exit.
            // The broker drops this member when its session times out.
            client.logger.warning("left the group unclosed: the first join did not finish in time")
            client.abandon()
            buffer.finish()
            return
        }
        // Revokes the assignment (the listener runs, stored offsets are committed) and leaves
        // the group.
        let error = rd_kafka_consumer_close(client.handle)
        if error != RD_KAFKA_RESP_ERR_NO_ERROR {
            client.logger.warning("consumer close", metadata: ["error": "\(KafkaError(code: .client, responseError: error))"])
        }
        buffer.finish()
    }

    /// How long the hand-off may stay full before fetching is paused.
    static let backlogPause: Duration = .seconds(1)

    private static func setBacklog(_ backlog: Bool, pauses: FetchPauses, client: RDKafkaClient) {
        do {
            try pauses.setBacklog(backlog, client: client.handle)
        } catch {
            client.logger.warning("could not \(backlog ? "pause" : "resume") fetching", metadata: ["error": "\(error)"])
        }
    }

    deinit {
        control.requestStop(drainTimeout: .zero)
    }

    /// Batches of messages in partition order, until the consumer is closed.
    public var batches: Batches { Batches(buffer: buffer) }

    public struct Batches: AsyncSequence, Sendable {
        public typealias Element = [KafkaConsumerMessage]
        fileprivate let buffer: ConsumerMessageBuffer

        public struct AsyncIterator: AsyncIteratorProtocol {
            fileprivate let buffer: ConsumerMessageBuffer

            public mutating func next() async -> [KafkaConsumerMessage]? {
                await buffer.next()
            }
        }

        public func makeAsyncIterator() -> AsyncIterator {
            AsyncIterator(buffer: buffer)
        }
    }

    /// Marks a message handled: its offset is committed with the next commit.
    public func markDone(_ message: KafkaConsumerMessage) throws {
        try storeOffsets([message.topicPartition: message.offset + 1])
    }

    /// Stores the next offset to read for each partition; a partition no longer assigned is
    /// an error, so that a revoked partition's work cannot be committed late.
    public func storeOffsets(_ nextOffsets: [KafkaTopicPartition: Int64]) throws {
        let list = NativePartitionList(Array(nextOffsets.keys), offsets: nextOffsets)
        let error = rd_kafka_offsets_store(client.handle, list.pointer)
        if let (partition, partitionError) = list.firstError() {
            throw KafkaError(code: .offsetStore, responseError: partitionError, context: "storing the offset of \(partition)")
        }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: .offsetStore, responseError: error)
        }
        storedOffsets.withLock { $0.merge(nextOffsets) { $1 } }
    }

    /// Commits the stored offsets now and waits for the broker's answer.
    public func commit() async throws {
        let error = try await client.runBlocking { handle in rd_kafka_commit(handle, nil, 0) }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR || error == RD_KAFKA_RESP_ERR__NO_OFFSET else {
            throw KafkaError(code: .commit, responseError: error)
        }
    }

    /// The group's committed offsets (the next offset to read) of these partitions; partitions
    /// with none are left out.
    public func committedOffsets(
        _ partitions: [KafkaTopicPartition],
        timeout: Duration = .seconds(10)
    ) async throws -> [KafkaTopicPartition: Int64] {
        try await client.runBlocking { handle in
            let list = NativePartitionList(partitions)
            let error = rd_kafka_committed(handle, list.pointer, Int32(clamping: timeout.milliseconds))
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(code: .commit, responseError: error, context: "reading committed offsets")
            }
            return list.offsets().filter { $0.value >= 0 }
        }
    }

    /// The partitions this member holds now.
    public func assignment() throws -> [KafkaTopicPartition] {
        var list: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>?
        let error = rd_kafka_assignment(client.handle, &list)
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let list else {
            throw KafkaError(code: .client, responseError: error, context: "reading the assignment")
        }
        defer { rd_kafka_topic_partition_list_destroy(list) }
        return KafkaTopicPartition.array(from: list).sorted()
    }

    /// Each partition's end (the offset the next message will get), asked of the broker.
    public func highWatermarks(
        _ partitions: [KafkaTopicPartition], timeout: Duration = .seconds(10)
    ) async throws -> [KafkaTopicPartition: Int64] {
        try await client.runBlocking { handle in
            try partitions.reduce(into: [:]) { ends, partition in
                ends[partition] = try RDKafkaClient.highWatermark(of: partition, handle: handle, timeout: timeout)
            }
        }
    }

    /// Messages behind each assigned partition's end: the high watermark librdkafka last saw
    /// in a fetch, minus the offset last stored as done or, before any, the consumer's
    /// position. Reads cached values; never blocks.
    public func lag() throws -> [KafkaTopicPartition: Int64] {
        try progress().compactMapValues(\.lag)
    }

    /// Each assigned partition's position (the next offset fetched), the next offset stored
    /// for commit, and its lag (see `lag()`). Reads cached values; never blocks.
    public func progress() throws -> [KafkaTopicPartition: PartitionProgress] {
        let stored = storedOffsets.withLock { $0 }
        let partitions = try assignment()
        let list = NativePartitionList(partitions)
        _ = rd_kafka_position(client.handle, list.pointer)
        let positions = list.offsets()
        var progress: [KafkaTopicPartition: PartitionProgress] = [:]
        for partition in partitions {
            let position = positions[partition].flatMap { $0 >= 0 ? $0 : nil }
            var low: Int64 = -1
            var high: Int64 = -1
            let error = partition.topic.withCString { topic in
                rd_kafka_get_watermark_offsets(client.handle, topic, partition.partition, &low, &high)
            }
            let done = stored[partition] ?? position
            let lag = error == RD_KAFKA_RESP_ERR_NO_ERROR && high >= 0 ? done.map { max(0, high - $0) } : nil
            progress[partition] = PartitionProgress(position: position, stored: stored[partition], lag: lag)
        }
        return progress
    }

    /// Stops fetching these partitions until `resume`; what was already handed over stays.
    /// A partition not assigned now is paused when it is.
    public func pause(_ partitions: [KafkaTopicPartition]) throws {
        try pauses.pause(partitions, client: client.handle)
    }

    /// Fetches these partitions again from the message after the last one handed over.
    public func resume(_ partitions: [KafkaTopicPartition]) throws {
        try pauses.resume(partitions, client: client.handle)
    }

    /// Stops (or restarts) fetching every partition, those assigned later included, while the
    /// consumer goes on being polled: for an owner that must hold all work back for a while
    /// (its store is away) without leaving the group.
    public func holdFetching(_ hold: Bool) throws {
        try pauses.setOwnerHold(hold, client: client.handle)
    }

    /// Stops polling, revokes the assignment through the listener, commits what was marked
    /// done, and leaves the group. `batches` ends.
    public func close() async {
        control.requestStop(drainTimeout: .zero)
        // A reader outside any group wakes its poll thread from its wait for messages, so
        // that a short-lived read does not pay for that wait. Never a group member: the wake
        // could cut short `rd_kafka_consumer_close`, which waits on the same queue for the
        // revocation and the final commit.
        if !isGroupMember, let queue = rd_kafka_queue_get_consumer(client.handle) {
            rd_kafka_queue_yield(queue)
            rd_kafka_queue_destroy(queue)
        }
        await pollThread.waitUntilFinished()
    }
}

/// What is left of a time limit shared by several blocking calls.
struct TimeBudget: Sendable {
    let end: ContinuousClock.Instant

    init(_ limit: Duration) {
        end = .now + limit
    }

    /// At least a millisecond, so that a call past the end fails at once rather than waits.
    var remaining: Duration {
        max(.milliseconds(1), end - .now)
    }
}
