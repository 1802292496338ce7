import Foundation
import Kafka
import Logging
import PaymentStores
import PaymentsDomain
import Synchronization
import Testing
import UpdatePaymentsPlugin
@testable import WorkerRuntime

/// The real SQLite store behind a switch that makes its first `failures` calls fail with
/// `kind` (ping included, as a store that is away fails it), or its first `hangs` calls never
/// answer, as a call on a dead connection does.
final class FlakyStore: PaymentStore {
    let store: SQLitePaymentStore
    private let remainingFailures: Mutex<Int>
    private let remainingHangs: Mutex<Int>
    private let kind: StoreError.Kind
    let calls = Mutex(0)

    init(failures: Int = 0, kind: StoreError.Kind = .conflict, hangs: Int = 0, path: String) throws {
        store = try SQLitePaymentStore(path: path)
        remainingFailures = Mutex(failures)
        remainingHangs = Mutex(hangs)
        self.kind = kind
    }

    private func failIfDue() async throws {
        calls.withLock { $0 += 1 }
        if remainingHangs.withLock({ remaining in
            defer { remaining -= 1 }
            return remaining > 0
        }) {
            // Never answers, and ignores cancellation as a stuck connection does.
            await withCheckedContinuation { (_: CheckedContinuation<Void, Never>) in }
        }
        let fail = remainingFailures.withLock { remaining in
            defer { remaining -= 1 }
            return remaining > 0
        }
        if fail { throw StoreError(kind == .conflict ? "could not serialize access" : "connection refused", kind: kind) }
    }

    func execute(_ commands: [StoreCommand]) async throws -> [StoreOutcome] {
        try await failIfDue()
        return try await store.execute(commands)
    }

    func read(_ request: DataRequest, account: String) async throws -> FetchedData {
        try await failIfDue()
        return try await store.read(request, account: account)
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

    func ping() async throws {
        if kind == .unavailable, remainingFailures.withLock({ $0 > 0 }) { try await failIfDue() }
        try await store.ping()
    }

    func close() async throws { try await store.close() }
}

/// What the handler's outage told the worker, in order.
final class OutageLog: Sendable {
    private let log = Mutex<[String]>([])
    var events: [String] { log.withLock { $0 } }
    func record(_ reason: String?) { log.withLock { $0.append(reason.map { "opened: \($0)" } ?? "closed") } }
}

@Suite("Command handler: transient failures and outages")
struct CommandHandlerRetryTests {
    private func handler(store: any PaymentStore, attempts: Int, outage: StoreOutage? = nil) -> CommandHandler {
        var configuration = WorkerConfiguration(kafka: KafkaConfiguration(bootstrapServers: []))
        configuration.retry.attempts = attempts
        configuration.retry.initialBackoff = .milliseconds(1)
        return CommandHandler(
            registry: PluginRegistry([UpdatePaymentsPlugin()]), accounts: AccountDirectory([AccountDirectory.seedAccount]),
            store: store, configuration: configuration, metrics: WorkerMetrics(), logger: Logger(label: "test"),
            outage: outage ?? StoreOutage(retry: RetryPolicy(initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(5)),
                                          probe: { try await store.ping() }, changed: { _ in }))
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

    /// Runs `body` with an outage whose probing runs beside it.
    private func withOutage<Result>(
        probing store: any PaymentStore, log: OutageLog, _ body: (StoreOutage) async throws -> Result
    ) async rethrows -> Result {
        let outage = StoreOutage(retry: RetryPolicy(initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(20)),
                                 probe: { try await store.ping() }, changed: { log.record($0) })
        let probing = Task { await outage.run() }
        defer { probing.cancel() }
        return try await body(outage)
    }

    @Test("conflicts within the budget are retried, and the commands apply once")
    func recovers() async throws {
        let store = try FlakyStore(failures: 3, path: temporaryPath())
        try await store.provision(order: AccountDirectory.seedOrder, account: "123")
        let outgoing = try #require(await handler(store: store, attempts: 5).handle([command(offset: 0), command(offset: 1)]))
        #expect(outgoing.map(\.topic) == ["payments.results", "payments.results"])
        #expect(outgoing.allSatisfy { $0.headers.string(named: "status") == "ok" })
        #expect(store.calls.withLock { $0 } == 4, "three failures, then one transaction for both commands")
        #expect(try await store.payments(account: "123", matching: PaymentQuery()).count == 2)
        try await store.close()
    }

    @Test("conflicts past the budget send each command to the DLQ with an error reply and event; nothing is applied")
    func exhausts() async throws {
        let store = try FlakyStore(failures: 100, path: temporaryPath())
        let outgoing = try #require(await handler(store: store, attempts: 3).handle([command(offset: 7)]))
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

    @Test("a store away for far longer than the retry budget is waited out: one outage, nothing in the DLQ, applied once")
    func outageWaitedOut() async throws {
        let store = try FlakyStore(failures: 40, kind: .unavailable, path: temporaryPath())
        try await store.store.provision(order: AccountDirectory.seedOrder, account: "123")
        let log = OutageLog()
        let outgoing = try await withOutage(probing: store, log: log) { outage in
            try #require(await handler(store: store, attempts: 3, outage: outage).handle([command(offset: 0), command(offset: 1)]))
        }
        #expect(outgoing.map(\.topic) == ["payments.results", "payments.results"])
        #expect(outgoing.allSatisfy { $0.headers.string(named: "status") == "ok" })
        #expect(log.events == ["opened: connection refused", "closed"], "one change of state each way")
        #expect(try await store.store.payments(account: "123", matching: PaymentQuery()).count == 2)
        try await store.close()
    }

    @Test("a store call that never answers fails at its deadline as an outage, and the command is applied once the store answers")
    func hungCallHasDeadline() async throws {
        let flaky = try FlakyStore(hangs: 1, path: temporaryPath())
        try await flaky.store.provision(order: AccountDirectory.seedOrder, account: "123")
        let store = StoreWithDeadline(store: flaky, timeout: .milliseconds(200))
        let log = OutageLog()
        let outgoing = try await withOutage(probing: store, log: log) { outage in
            try #require(await handler(store: store, attempts: 3, outage: outage).handle([command(offset: 0)]))
        }
        #expect(outgoing.map(\.topic) == ["payments.results"])
        #expect(outgoing.first?.headers.string(named: "status") == "ok")
        #expect(log.events.count == 2 && log.events.first?.contains("did not answer a transaction") == true, "\(log.events)")
        #expect(try await flaky.store.payments(account: "123", matching: PaymentQuery()).count == 1)
        try await flaky.store.close()
    }

    @Test("shutting down during an outage answers nothing and applies nothing: the commands stay uncommitted")
    func outageGivenUp() async throws {
        let store = try FlakyStore(failures: 1_000_000, kind: .unavailable, path: temporaryPath())
        try await store.store.provision(order: AccountDirectory.seedOrder, account: "123")
        let log = OutageLog()
        let outcome = try await withOutage(probing: store, log: log) { outage in
            async let handled = handler(store: store, attempts: 3, outage: outage).handle([command(offset: 0)])
            let deadline = ContinuousClock.now + .seconds(10)
            while outage.reason == nil, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(5)) }
            #expect(outage.reason != nil, "the outage opened")
            outage.giveUp()
            return await handled
        }
        #expect(outcome == nil)
        #expect(try await store.store.payments(account: "123", matching: PaymentQuery()).isEmpty)
        try await store.store.close()
    }
}
