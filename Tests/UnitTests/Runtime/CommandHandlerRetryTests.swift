import Foundation
import Kafka
import Logging
import PaymentStores
import PaymentsDomain
import Synchronization
import Testing
import UpdatePaymentsPlugin
@testable import WorkerRuntime

/// The real SQLite store behind a switch that makes it fail transiently, as a busy or
/// unreachable database does, for the first `failures` calls.
final class FlakyStore: PaymentStore {
    let store: SQLitePaymentStore
    private let remainingFailures: Mutex<Int>
    let calls = Mutex(0)

    init(failures: Int, path: String) throws {
        store = try SQLitePaymentStore(path: path)
        remainingFailures = Mutex(failures)
    }

    private func failIfDue() throws {
        calls.withLock { $0 += 1 }
        let fail = remainingFailures.withLock { remaining in
            defer { remaining -= 1 }
            return remaining > 0
        }
        if fail { throw StoreError("database is locked", isTransient: true) }
    }

    func execute(_ commands: [StoreCommand]) async throws -> [StoreOutcome] {
        try failIfDue()
        return try await store.execute(commands)
    }

    func payments(account: String, matching query: PaymentQuery) async throws -> [Payment] {
        try failIfDue()
        return try await store.payments(account: account, matching: query)
    }

    func idempotencyRecord(account: String, key: String) async throws -> IdempotencyRecord? {
        try await store.idempotencyRecord(account: account, key: key)
    }

    func purgeIdempotencyRecords(createdBefore epochSeconds: Int64) async throws -> Int {
        try await store.purgeIdempotencyRecords(createdBefore: epochSeconds)
    }

    func provision(order: Order, account: String) async throws {
        try await store.provision(order: order, account: account)
    }

    func close() async throws { try await store.close() }
}

/// Records when the handler asks for its partition to be paused and resumed.
final class WindowLog: Sendable {
    private let log = Mutex<[String]>([])
    var events: [String] { log.withLock { $0 } }
    var observer: CommandHandler.RetryWindow {
        CommandHandler.RetryWindow(opened: { self.log.withLock { $0.append("opened") } }, closed: { self.log.withLock { $0.append("closed") } })
    }
}

@Suite("Command handler: transient failures")
struct CommandHandlerRetryTests {
    private func handler(store: any PaymentStore, attempts: Int) -> CommandHandler {
        var configuration = WorkerConfiguration(kafka: KafkaConfiguration(bootstrapServers: []))
        configuration.retry.attempts = attempts
        configuration.retry.initialBackoff = .milliseconds(1)
        return CommandHandler(
            registry: PluginRegistry([UpdatePaymentsPlugin()]), accounts: AccountDirectory([AccountDirectory.seedAccount]),
            store: store, configuration: configuration, metrics: WorkerMetrics(), logger: Logger(label: "test"))
    }

    private func command(offset: Int64) -> KafkaConsumerMessage {
        KafkaConsumerMessage(
            topic: "payments.commands", partition: 0, offset: offset, key: Array("Ref123".utf8),
            value: Array("OrderRef,PaymentImportedRef,Amount\nRef123,R\(offset),1\n".utf8),
            headers: [KafkaHeader(name: "command", string: "UpdatePayments"), KafkaHeader(name: "apiid", string: "123"),
                      KafkaHeader(name: "apikey", string: "12345")])
    }

    private func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("flaky-\(UUID().uuidString)/payments.sqlite").path
    }

    @Test("failures within the budget are retried, and the commands apply once")
    func recovers() async throws {
        let store = try FlakyStore(failures: 3, path: temporaryPath())
        try await store.provision(order: AccountDirectory.seedOrder, account: "123")
        let window = WindowLog()
        let outgoing = await handler(store: store, attempts: 5).handle([command(offset: 0), command(offset: 1)], retryWindow: window.observer)
        #expect(window.events == ["opened", "closed"], "the partition is paused once for the whole wait, then resumed")
        #expect(outgoing.map(\.topic) == ["payments.results", "payments.results"])
        #expect(outgoing.allSatisfy { $0.headers.string(named: "status") == "ok" })
        #expect(store.calls.withLock { $0 } == 4, "three failures, then one transaction for both commands")
        #expect(try await store.payments(account: "123", matching: PaymentQuery()).count == 2)
        try await store.close()
    }

    @Test("past the budget each command goes to the DLQ with an error reply and event; nothing is applied")
    func exhausts() async throws {
        let store = try FlakyStore(failures: 100, path: temporaryPath())
        let window = WindowLog()
        let outgoing = await handler(store: store, attempts: 3).handle([command(offset: 7)], retryWindow: window.observer)
        #expect(window.events == ["opened", "closed"], "resumed once the command is in the DLQ")
        #expect(outgoing.map(\.topic).sorted() == ["payments.dlq", "payments.errors", "payments.results"])
        #expect(store.calls.withLock { $0 } == 3)
        let reply = try #require(outgoing.first { $0.topic == "payments.results" })
        #expect(reply.headers.string(named: "status") == "error")
        #expect(String(decoding: reply.value ?? [], as: UTF8.self).contains("\"code\":\"INTERNAL\""))
        let copy = try #require(outgoing.first { $0.topic == "payments.dlq" })
        #expect(copy.value == command(offset: 7).value)
        #expect(copy.headers == command(offset: 7).headers, "the original, unchanged")
        try await store.store.close()
    }
}
