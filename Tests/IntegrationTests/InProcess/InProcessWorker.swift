import CRDKafka
import Foundation
@testable import Kafka
import Logging
import PaymentStores
import PaymentsDomain
import Synchronization
import Testing
import UpdatePaymentsPlugin
@testable import WorkerRuntime

/// Waits until `condition` holds, checking every few milliseconds, for at most `timeout`.
func until(_ what: String, timeout: Duration = .seconds(20), _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw DeadlineExceeded(waitingFor: what, timeout: timeout) }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// The worker run in-process on a command source and a producer of the test's own.
enum WorkerUnderTest {
    /// Runs a worker on a fresh SQLite file with the seed account and order, gives `body` its
    /// source, then closes the source and waits for the worker to end.
    static func run(
        producer: TestProducer, registry: PluginRegistry = PluginRegistry([UpdatePaymentsPlugin()]),
        _ body: (TestSource) async throws -> Void
    ) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("worker-test-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLitePaymentStore(path: folder.appendingPathComponent("payments.sqlite").path)
        try await run(store: store, registry: registry, producer: producer, body)
        try await store.close()
    }

    /// Runs a worker on `store`, given the seed account and order, with the plugins of
    /// `registry`; gives `body` its source, then closes the source and waits for the worker.
    static func run(
        store: any PaymentStore, registry: PluginRegistry, producer: TestProducer, _ body: (TestSource) async throws -> Void
    ) async throws {
        try await store.provision(order: AccountDirectory.seedOrder, account: AccountDirectory.seedAccount.apiId)
        var configuration = WorkerConfiguration(kafka: KafkaConfiguration(bootstrapServers: []))
        configuration.retry.initialBackoff = .milliseconds(1)
        configuration.publishRetry.initialBackoff = .milliseconds(1)
        var logger = Logger(label: "worker-test")
        logger.logLevel = .critical
        let source = TestSource()
        let worker = Worker(
            configuration: configuration, store: store, accounts: AccountDirectory([AccountDirectory.seedAccount]),
            registry: registry, reporting: WorkerReporting(logger: logger)
        ).over(WorkerTransport(makeProducer: { producer }, makeSource: { revocations in
            source.listen(revocations)
            return source
        }))
        let running = Task { try await worker.run() }
        do {
            try await body(source)
        } catch {
            producer.releaseAcknowledgements()
            await source.close()
            _ = try? await running.value
            throw error
        }
        await source.close()
        try await running.value
    }
}

/// Batches the test feeds, and the offsets the worker stores, by partition.
final class TestSource: CommandSource {
    private struct State {
        var batches: [[KafkaConsumerMessage]] = []
        var waiter: CheckedContinuation<[KafkaConsumerMessage]?, Never>?
        var closed = false
        var stored: [Int32: [Int64]] = [:]
        var revocations: (any KafkaRebalanceListener)?
    }

    private let state = Mutex(State())

    func listen(_ revocations: any KafkaRebalanceListener) {
        state.withLock { $0.revocations = revocations }
    }

    func feed(_ batch: [KafkaConsumerMessage]) {
        let waiter = state.withLock { state in
            guard let waiter = state.waiter else {
                state.batches.append(batch)
                return nil as CheckedContinuation<[KafkaConsumerMessage]?, Never>?
            }
            state.waiter = nil
            return waiter
        }
        waiter?.resume(returning: batch)
    }

    func stored(_ partition: Int32) -> [Int64] {
        state.withLock { $0.stored[partition] ?? [] }
    }

    func nextBatch() async -> [KafkaConsumerMessage]? {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> [KafkaConsumerMessage]?? in
                if !state.batches.isEmpty { return .some(state.batches.removeFirst()) }
                if state.closed { return .some(nil) }
                state.waiter = continuation
                return nil
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    func storeOffsets(_ nextOffsets: [KafkaTopicPartition: Int64]) throws {
        state.withLock { state in
            for (partition, offset) in nextOffsets { state.stored[partition.partition, default: []].append(offset) }
        }
    }

    func holdFetching(_ hold: Bool) throws {}

    func lag() throws -> [KafkaTopicPartition: Int64] { [:] }

    /// As a consumer's close: the revocation waits for the work in flight, then batches end.
    func close() async {
        guard let revocations = state.withLock({ state -> (any KafkaRebalanceListener)?? in
            guard !state.closed else { return .none }
            return .some(state.revocations)
        }) else { return }
        await revocations?.partitionsRevoked([], lost: false)
        let waiter = state.withLock { state in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }
}

/// Records what the worker publishes, in order, and answers each message as told: held
/// until released, failed once for a passing reason, or refused for good as too large.
final class TestProducer: ReplyProducer {
    private struct State {
        var published: [KafkaProducerMessage] = []
        var delivered: [KafkaProducerMessage] = []
        var held: Set<String> = []
        var failOnce: Set<String> = []
        var refused: Set<String> = []
        var gateOpen = true
        var gateWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func holdAcknowledgements(of correlationId: String) {
        state.withLock { state in
            state.held.insert(correlationId)
            state.gateOpen = false
        }
    }

    func releaseAcknowledgements() {
        let waiters = state.withLock { state in
            state.gateOpen = true
            defer { state.gateWaiters = [] }
            return state.gateWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func failOnce(_ correlationId: String) { state.withLock { _ = $0.failOnce.insert(correlationId) } }
    func refuse(_ correlationId: String) { state.withLock { _ = $0.refused.insert(correlationId) } }

    /// Correlation ids of the replies published for a partition's commands, in order, every
    /// attempt included.
    func replies(partition: Int32) -> [String] {
        state.withLock { state in
            state.published.filter { $0.topic == "payments.results" }.compactMap { $0.headers.string(named: "correlation-id") }
                .filter { $0.hasPrefix("p\(partition)-") }
        }
    }

    func delivered(topic: String) -> [String] {
        deliveredMessages(topic: topic).map { String(decoding: $0.value ?? [], as: UTF8.self) }
    }

    func deliveredMessages(topic: String) -> [KafkaProducerMessage] {
        state.withLock { $0.delivered.filter { $0.topic == topic } }
    }

    func publish(_ messages: [KafkaProducerMessage]) async throws -> any DeliveryResults {
        let (results, held) = state.withLock { state -> ([Result<KafkaDeliveryReport, any Error>], Bool) in
            state.published += messages
            var held = false
            let results = messages.enumerated().map { index, message -> Result<KafkaDeliveryReport, any Error> in
                let id = message.topic == "payments.results" ? message.headers.string(named: "correlation-id") ?? "" : ""
                if state.refused.contains(id) {
                    return .failure(KafkaError(code: .delivery, responseError: RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE))
                }
                if state.failOnce.remove(id) != nil {
                    return .failure(KafkaError(code: .delivery, message: "the broker is away"))
                }
                if state.held.contains(id), !state.gateOpen { held = true }
                state.delivered.append(message)
                return .success(KafkaDeliveryReport(topic: message.topic, partition: 0, offset: Int64(index)))
            }
            return (results, held)
        }
        return TestDeliveries(results: results, gate: held ? self : nil)
    }

    fileprivate func waitForGate() async {
        await withCheckedContinuation { continuation in
            let open = state.withLock { state in
                if !state.gateOpen { state.gateWaiters.append(continuation) }
                return state.gateOpen
            }
            if open { continuation.resume() }
        }
    }

    var fatalError: KafkaError? { nil }
    func prepare(topics: [String], timeout: Duration) async throws {}
    func clusterID(timeout: Duration) async throws -> String { "test-cluster" }
    func close(timeout: Duration) async { releaseAcknowledgements() }
}

struct TestDeliveries: DeliveryResults {
    let results: [Result<KafkaDeliveryReport, any Error>]
    let gate: TestProducer?

    func results() async -> [Result<KafkaDeliveryReport, any Error>] {
        await gate?.waitForGate()
        return results
    }
}
