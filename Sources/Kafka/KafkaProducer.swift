import CRDKafka
import Logging
import Synchronization

/// Produces messages and awaits each one's acknowledgement by the broker.
///
/// `send` hands the message to librdkafka (which does not block) and suspends until the
/// delivery report arrives; many sends may be in flight at once. Idempotent by default.
public final class KafkaProducer: Sendable {
    let client: RDKafkaClient
    private let tracker: DeliveryTracker
    private let pollThread: KafkaPollThread
    private let control = PollLoopControl()

    public init(
        configuration: KafkaProducerConfiguration,
        logger: Logger = Logger(label: "kafka.producer"),
        errorHandler: (@Sendable (KafkaError) -> Void)? = nil
    ) throws {
        let tracker = DeliveryTracker()
        let client = try RDKafkaClient(
            type: RD_KAFKA_PRODUCER,
            properties: configuration.librdkafkaProperties(),
            context: KafkaClientContext(logger: logger, errorHandler: errorHandler, deliveryTracker: tracker)
        )
        self.client = client
        self.tracker = tracker
        // The loop holds only what it needs, not the producer, so that dropping the producer
        // without close() still lets the thread end (deinit asks it to).
        let control = self.control
        self.pollThread = KafkaPollThread(name: "kafka-producer-poll") {
            while !control.isStopRequested {
                rd_kafka_poll(client.handle, 100)
            }
            rd_kafka_flush(client.handle, Int32(clamping: control.drainTimeout.milliseconds))
            // What the flush could not deliver is purged and reported failed, never left hanging.
            rd_kafka_purge(client.handle, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            rd_kafka_poll(client.handle, 0)
            tracker.failAll(with: KafkaError(code: .closed, message: "the producer was closed before delivery"))
        }
    }

    deinit {
        control.requestStop(drainTimeout: .zero)
    }

    /// Sends one message and returns when the broker has acknowledged it.
    /// Throws a `KafkaError` with code `.delivery` when librdkafka gave up on it.
    @discardableResult
    public func send(_ message: KafkaProducerMessage) async throws -> KafkaDeliveryReport {
        try await sendAll([message])[0]
    }

    /// Hands every message to librdkafka in order (so those of one partition are written in
    /// this order), then returns when the broker has acknowledged them all. Throws the first
    /// delivery error once every message has its answer.
    public func sendAll(_ messages: [KafkaProducerMessage]) async throws -> [KafkaDeliveryReport] {
        try await enqueueAll(messages).reports()
    }

    /// Hands every message to librdkafka in order and returns at once (unless librdkafka's
    /// queue is full); the acknowledgements are awaited through the result. Lets a caller
    /// enqueue the next messages of a partition while the broker acknowledges these.
    /// A message librdkafka refuses for good (too large, say) fails alone, in its place among
    /// the results; the others go on.
    public func enqueueAll(_ messages: [KafkaProducerMessage]) async throws -> PendingDeliveries {
        let batch = DeliveryBatch(count: messages.count)
        for (index, message) in messages.enumerated() {
            do {
                try await enqueue(message) { batch.complete(index, $0) }
            } catch let error as KafkaError where error.isPermanentForMessage {
                batch.complete(index, .failure(error))
            }
        }
        return PendingDeliveries(batch: batch)
    }

    /// Enqueues one message, waiting while librdkafka's local queue is full.
    private func enqueue(_ message: KafkaProducerMessage, completion: @escaping DeliveryTracker.Continuation) async throws {
        while true {
            let id: UInt
            let reportsSeen: UInt64
            switch tracker.register(completion) {
            case .failClosed:
                throw KafkaError(code: .closed, message: "the producer is closed")
            case .send(let assigned, let seen):
                id = assigned
                reportsSeen = seen
            }
            guard let error = produce(message, opaque: id) else { return }
            _ = tracker.remove(id)
            guard error.librdkafkaCode == RD_KAFKA_RESP_ERR__QUEUE_FULL.rawValue else { throw error }
            // librdkafka's local queue is full: wait for a delivery report to make room.
            await tracker.waitForCapacity(after: reportsSeen)
        }
    }

    /// Hands one message to librdkafka, which copies it. Never blocks.
    private func produce(_ message: KafkaProducerMessage, opaque id: UInt) -> KafkaError? {
        let headers = rd_kafka_headers_new(message.headers.count)
        for header in message.headers {
            // withCString keeps a short name on the stack; passing the String itself would
            // copy it to the heap.
            header.name.withCString { name in
                withOptionalBytes(header.value) { value in
                    _ = rd_kafka_header_add(headers, name, -1, value.baseAddress, value.count)
                }
            }
        }
        let failure: KafkaError? = message.topic.withCString { topic in
            withOptionalBytes(message.key) { key in
                withOptionalBytes(message.value) { value in
                    withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 7) { fields in
                        fields.initialize(repeating: rd_kafka_vu_t())
                        fields[0].vtype = RD_KAFKA_VTYPE_TOPIC
                        fields[0].u.cstr = topic
                        fields[1].vtype = RD_KAFKA_VTYPE_PARTITION
                        fields[1].u.i32 = message.partition ?? RD_KAFKA_PARTITION_UA
                        fields[2].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                        fields[2].u.i = RD_KAFKA_MSG_F_COPY
                        fields[3].vtype = RD_KAFKA_VTYPE_KEY
                        fields[3].u.mem.ptr = UnsafeMutableRawPointer(mutating: key.baseAddress)
                        fields[3].u.mem.size = key.count
                        fields[4].vtype = RD_KAFKA_VTYPE_VALUE
                        fields[4].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                        fields[4].u.mem.size = value.count
                        fields[5].vtype = RD_KAFKA_VTYPE_HEADERS
                        fields[5].u.headers = headers
                        fields[6].vtype = RD_KAFKA_VTYPE_OPAQUE
                        fields[6].u.ptr = UnsafeMutableRawPointer(bitPattern: id)
                        guard let error = rd_kafka_produceva(client.handle, fields.baseAddress, fields.count) else { return nil }
                        return KafkaError(code: .produce, consuming: error, context: "producing to \(message.topic)")
                    }
                }
            }
        }
        // On success librdkafka owns the headers; on failure they are still ours.
        if failure != nil { rd_kafka_headers_destroy(headers) }
        return failure
    }

    /// Fetches the topics' metadata now. A producer learns a topic's leaders only when it
    /// first sends to it, which delays that first message by up to a second (librdkafka's
    /// topic scan interval); a service calls this at start so its first reply is not late.
    public func prepare(topics: [String], timeout: Duration = .seconds(10)) async throws {
        try await client.runBlocking { handle in
            for topic in topics {
                _ = try RDKafkaClient.partitions(of: topic, handle: handle, timeout: timeout)
            }
        }
    }

    /// The error that made this producer unusable, if librdkafka raised one (an idempotent
    /// producer whose sequence numbers no longer match the broker's, say): it can send nothing
    /// more, and must be replaced.
    public var fatalError: KafkaError? {
        var text = [CChar](repeating: 0, count: 512)
        let code = rd_kafka_fatal_error(client.handle, &text, text.count)
        guard code != RD_KAFKA_RESP_ERR_NO_ERROR else { return nil }
        return KafkaError(code: .client, message: "fatal: \(String(nulTerminated: text))", librdkafkaCode: code.rawValue, isFatal: true)
    }

    /// The id of the cluster this producer writes to.
    public func clusterID(timeout: Duration = .seconds(10)) async throws -> String {
        try await client.runBlocking { handle in try RDKafkaClient.clusterID(handle: handle, timeout: timeout) }
    }

    /// Waits until every message handed over so far is acknowledged or failed.
    public func flush(timeout: Duration) async throws {
        let error = try await client.runBlocking { handle in
            rd_kafka_flush(handle, Int32(clamping: timeout.milliseconds))
        }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: .flush, responseError: error, context: "\(tracker.inFlight) messages not delivered")
        }
    }

    /// Flushes for at most `timeout`, fails what is still undelivered, and releases the client.
    /// New sends fail at once.
    public func close(timeout: Duration = .seconds(10)) async {
        tracker.stopAccepting()
        control.requestStop(drainTimeout: timeout)
        await pollThread.waitUntilFinished()
    }
}

/// Lends `body` the bytes of an optional array; nil becomes an empty buffer at address nil,
/// which librdkafka reads as a null key or value.
func withOptionalBytes<Result>(_ bytes: [UInt8]?, _ body: (UnsafeRawBufferPointer) -> Result) -> Result {
    guard let bytes else { return body(UnsafeRawBufferPointer(start: nil, count: 0)) }
    return bytes.withUnsafeBytes(body)
}

/// Messages handed to librdkafka whose acknowledgements are still to come.
public struct PendingDeliveries: Sendable {
    fileprivate let batch: DeliveryBatch

    /// The broker's acknowledgements, in the order the messages were given; throws the first
    /// delivery error once every message has its answer.
    public func reports() async throws -> [KafkaDeliveryReport] {
        try await batch.results().map { try $0.get() }
    }

    /// Each message's acknowledgement or error, in the order the messages were given, once
    /// every message has its answer.
    public func results() async -> [Result<KafkaDeliveryReport, any Error>] {
        await batch.results()
    }
}

/// The answers for one `enqueueAll`, gathered as they come on the poll thread.
fileprivate final class DeliveryBatch: Sendable {
    private struct State {
        var results: [Result<KafkaDeliveryReport, any Error>?]
        var remaining: Int
        var waiter: CheckedContinuation<[Result<KafkaDeliveryReport, any Error>], Never>?
    }

    private let state: Mutex<State>

    init(count: Int) {
        state = Mutex(State(results: Array(repeating: nil, count: count), remaining: count))
    }

    func complete(_ index: Int, _ result: Result<KafkaDeliveryReport, any Error>) {
        let finished: (CheckedContinuation<[Result<KafkaDeliveryReport, any Error>], Never>, [Result<KafkaDeliveryReport, any Error>?])? = state.withLock { state in
            state.results[index] = result
            state.remaining -= 1
            guard state.remaining == 0, let waiter = state.waiter else { return nil }
            state.waiter = nil
            return (waiter, state.results)
        }
        if let (waiter, results) = finished { waiter.resume(returning: Self.outcome(results)) }
    }

    func results() async -> [Result<KafkaDeliveryReport, any Error>] {
        await withCheckedContinuation { waiter in
            let done: [Result<KafkaDeliveryReport, any Error>?]? = state.withLock { state in
                guard state.remaining > 0 else { return state.results }
                state.waiter = waiter
                return nil
            }
            if let done { waiter.resume(returning: Self.outcome(done)) }
        }
    }

    private static func outcome(_ results: [Result<KafkaDeliveryReport, any Error>?]) -> [Result<KafkaDeliveryReport, any Error>] {
        results.map { $0 ?? .failure(KafkaError(code: .delivery, message: "a message had no delivery report")) }
    }
}
