import Foundation
import Synchronization
import Kafka
import Testing

/// `payment-worker broker` and `payment-worker run` as real processes, and a Kafka client of
/// the test's own that sends commands and collects replies, error events and DLQ copies.
struct WorkerHarness {
    let broker: ChildProcess
    let worker: ChildProcess
    let bootstrap: String
    let folder: URL
    let storeLocation: String
    let producer: KafkaProducer
    let results: TestConsumer
    let errors: TestConsumer
    let dlq: TestConsumer

    /// A broker, a worker on `store` (default: a SQLite file of the harness's own) and a client.
    static func start(store: String? = nil, extraArguments: [String] = []) async throws -> WorkerHarness {
        let broker = try ChildProcess(TestBinaries.paymentWorker, ["broker"])
        let bootstrap: String
        let worker: ChildProcess
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("payment-worker-e2e-\(UUID().uuidString)")
        do {
            bootstrap = try await broker.firstLine()
            worker = try await startWorker(
                bootstrap: bootstrap, store: store ?? "sqlite:\(folder.path)/payments.sqlite", extraArguments: extraArguments)
        } catch {
            broker.kill9IfRunning()
            throw error
        }
        let group = UUID().uuidString
        return WorkerHarness(
            broker: broker, worker: worker, bootstrap: bootstrap, folder: folder,
            storeLocation: store ?? "sqlite:\(folder.path)/payments.sqlite",
            producer: try makeProducer(bootstrapServers: bootstrap),
            results: try TestConsumer(bootstrapServers: bootstrap, group: "results-\(group)", topics: ["payments.results"]),
            errors: try TestConsumer(bootstrapServers: bootstrap, group: "errors-\(group)", topics: ["payments.errors"]),
            dlq: try TestConsumer(bootstrapServers: bootstrap, group: "dlq-\(group)", topics: ["payments.dlq"]))
    }

    static let seedCredentials = ["apiid": "123", "apikey": "12345"]

    /// Runs `body` against a fresh broker and worker, and stops them however it ends.
    static func with(
        store: String? = nil, extraArguments: [String] = [], _ body: (WorkerHarness) async throws -> Void
    ) async throws {
        let harness = try await start(store: store, extraArguments: extraArguments)
        do {
            try await body(harness)
        } catch {
            await harness.stop()
            throw error
        }
        await harness.stop()
    }

    /// Runs `body` against a fresh broker and a worker on a fresh PostgreSQL database (whose
    /// URL it gets, for workers of its own, which it registers in `others`); stops every
    /// worker and drops the database however it ends.
    static func withPostgres(
        extraArguments: [String] = [], _ body: (WorkerHarness, _ databaseURL: String, _ others: OtherWorkers) async throws -> Void
    ) async throws {
        let database = try await TestPostgres.createDatabase()
        let others = OtherWorkers()
        do {
            try await with(store: database.url, extraArguments: extraArguments) { harness in
                do {
                    try await body(harness, database.url, others)
                } catch {
                    await others.stopAll()
                    throw error
                }
                await others.stopAll()
            }
        } catch {
            await TestPostgres.dropDatabase(database.name)
            throw error
        }
        await TestPostgres.dropDatabase(database.name)
    }

    /// Workers a test starts beside the harness's own, stopped with it.
    final class OtherWorkers: Sendable {
        private let started = Mutex<[ChildProcess]>([])

        @discardableResult
        func add(_ worker: ChildProcess) -> ChildProcess {
            started.withLock { $0.append(worker) }
            return worker
        }

        func stopAll() async {
            for worker in started.withLock({ $0 }) { await WorkerHarness.stop(worker) }
        }
    }

    /// A `payment-worker run` process, returned once it holds partitions.
    static func startWorker(bootstrap: String, store: String, group: String = "payment-worker", extraArguments: [String] = []) async throws -> ChildProcess {
        let worker = try ChildProcess(TestBinaries.paymentWorker, [
            "run", "--bootstrap-servers", bootstrap, "--dev", "--store", store, "--group-id", group,
            "--kafka-property", "session.timeout.ms=6000", "--kafka-property", "heartbeat.interval.ms=100",
            // Workers run side by side: each lets the system pick its operations port.
            "--http-port", "0",
        ] + extraArguments)
        do {
            try await worker.waitForStandardError(containing: "partitions assigned")
        } catch {
            worker.kill9IfRunning()
            throw error
        }
        return worker
    }

    var store: String { storeLocation }

    /// Stops an extra worker this test started.
    static func stop(_ worker: ChildProcess) async {
        worker.signal(SIGTERM)
        _ = try? await worker.waitForExit(timeout: .seconds(30))
        worker.kill9IfRunning()
    }

    /// Single-line UpdatePayments commands on 16 keys, each with a reference and a
    /// correlation id `<prefix>-<index>` of its own.
    static func paymentStream(count: Int, prefix: String) -> [KafkaProducerMessage] {
        (0..<count).map { index in
            KafkaProducerMessage(
                topic: "payments.commands", key: Array("order-\(index % 16)".utf8),
                value: Array("OrderRef,PaymentImportedRef,Amount\nRef123,\(prefix.uppercased())-\(index),\(index % 100).25\n".utf8),
                headers: [KafkaHeader(name: "command", string: "UpdatePayments"), KafkaHeader(name: "apiid", string: "123"),
                          KafkaHeader(name: "apikey", string: "12345"), KafkaHeader(name: "correlation-id", string: "\(prefix)-\(index)")])
        }
    }

    /// Sends one command and returns its reply.
    @discardableResult
    func send(
        _ command: String?, _ body: String, headers: [String: String] = seedCredentials, key: String = "Ref123",
        correlationId: String = UUID().uuidString, timeout: Duration = .seconds(30)
    ) async throws -> KafkaConsumerMessage {
        try await sendRaw(command, Array(body.utf8), headers: headers, key: key, correlationId: correlationId)
        return try await reply(to: correlationId, timeout: timeout)
    }

    func sendRaw(_ command: String?, _ body: [UInt8], headers: [String: String] = seedCredentials, key: String = "Ref123",
                 correlationId: String) async throws {
        var kafkaHeaders = command.map { [KafkaHeader(name: "command", string: $0)] } ?? []
        kafkaHeaders.append(KafkaHeader(name: "correlation-id", string: correlationId))
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) { kafkaHeaders.append(KafkaHeader(name: name, string: value)) }
        try await producer.send(KafkaProducerMessage(topic: "payments.commands", key: Array(key.utf8), value: body, headers: kafkaHeaders))
    }

    func reply(to correlationId: String, timeout: Duration = .seconds(30)) async throws -> KafkaConsumerMessage {
        try await results.received.first("the reply to \(correlationId)", timeout: timeout) {
            $0.headers.string(named: "correlation-id") == correlationId
        }
    }

    func errorEvent(for correlationId: String) async throws -> [String: Any] {
        let event = try await errors.received.first("the error event of \(correlationId)") {
            $0.valueString?.contains("\"correlation_id\":\"\(correlationId)\"") == true
        }
        return try #require(try JSONSerialization.jsonObject(with: Data(event.value ?? [])) as? [String: Any])
    }

    func stop() async {
        await results.close()
        await errors.close()
        await dlq.close()
        await producer.close()
        worker.signal(SIGTERM)
        _ = try? await worker.waitForExit(timeout: .seconds(30))
        worker.kill9IfRunning()
        broker.signal(SIGTERM)
        _ = try? await broker.waitForExit(timeout: .seconds(10))
        broker.kill9IfRunning()
        try? FileManager.default.removeItem(at: folder)
    }
}

extension KafkaConsumerMessage {
    var status: String? { headers.string(named: "status") }
    var body: String { valueString ?? "" }
}
