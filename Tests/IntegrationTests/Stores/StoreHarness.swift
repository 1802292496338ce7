import Foundation
import PaymentStores
import CancelPaymentPlugin
import DeletePaymentsPlugin
import PaymentsDomain
import Synchronization
import Testing
import UpdateOrdersPlugin
import UpdatePaymentsPlugin

enum StoreKind: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite, postgres

    var testDescription: String { rawValue }
}

/// A fresh, empty store of one kind, and short ways to run commands against it.
struct StoreHarness {
    let store: any PaymentStore
    let now = try! UTCDateTime(parsing: "2026-11-22 10:00:00")
    private let cleanup: @Sendable () async -> Void

    static func make(_ kind: StoreKind) async throws -> StoreHarness {
        switch kind {
        case .sqlite:
            let folder = FileManager.default.temporaryDirectory.appendingPathComponent("payment-worker-tests-\(UUID().uuidString)")
            let store = try SQLitePaymentStore(path: folder.appendingPathComponent("payments.sqlite").path)
            return StoreHarness(store: store) {
                try? await store.close()
                try? FileManager.default.removeItem(at: folder)
            }
        case .postgres:
            let database = try await TestPostgres.createDatabase()
            let store = try await PostgresPaymentStore(url: database.url)
            return StoreHarness(store: store) {
                try? await store.close()
                await TestPostgres.dropDatabase(database.name)
            }
        }
    }

    private init(store: any PaymentStore, cleanup: @escaping @Sendable () async -> Void) {
        self.store = store
        self.cleanup = cleanup
    }

    func close() async { await cleanup() }

    /// Runs one command and returns the store's outcome and what the write did.
    @discardableResult
    func run(
        _ operation: TestOperation, account: String = "123", key: String = UUID().uuidString, fingerprint: String? = nil
    ) async throws -> (outcome: StoreOutcome, operation: TestOutcome?) {
        let seen = Mutex<TestOutcome?>(nil)
        let command = StoreCommand(
            account: account, idempotencyKey: key, fingerprint: Array((fingerprint ?? key).utf8), operation: operation,
            now: now, epochSeconds: 1_795_000_000
        ) { outcome in
            seen.withLock { $0 = outcome }
            return TestReply.make(outcome)
        }
        let outcomes = try await store.execute([command])
        // A refusal is recorded by the store from the command's error format, not reported
        // through `reply`.
        if case .applied(let reply) = outcomes[0], let error = reply.error { return (outcomes[0], .refused(error)) }
        return (outcomes[0], seen.withLock { $0 })
    }

    func updatePayments(_ csv: String, account: String = "123") async throws -> [PaymentLineResult] {
        let lines = try PaymentLineDecoder.decode(try CSVReader.read(csv))
        guard case .payments(let results)? = try await run(.updatePayments(lines), account: account).operation else {
            Issue.record("UpdatePayments did not run")
            return []
        }
        return results
    }

    func updateOrders(_ csv: String, account: String = "123") async throws -> [OrderLineResult] {
        let lines = try OrderLineDecoder.decode(try CSVReader.read(csv))
        guard case .orders(let results)? = try await run(.updateOrders(lines), account: account).operation else {
            Issue.record("UpdateOrders did not run")
            return []
        }
        return results
    }

    func get(_ query: String, account: String = "123") async throws -> [Payment] {
        try await store.payments(account: account, matching: try PaymentQuery.parse(urlQuery: query))
    }

    func delete(_ query: String, account: String = "123") async throws -> TestOutcome? {
        try await run(.deletePayments(try PaymentQuery.parse(urlQuery: query)), account: account).operation
    }

    func cancel(_ identifier: PaymentIdentifier, backOfficeCode: String? = nil, account: String = "123") async throws -> TestOutcome? {
        let details = CancellationDetails(typeId: "T1", categoryId: "C1", notes: "by mistake", backOfficeCode: backOfficeCode,
                                          udfStrings: ["first"], udfFloats: ["1.5"], udfDates: [now])
        return try await run(.cancelPayment(CancelPaymentRequest(payment: identifier, details: details)), account: account).operation
    }
}

/// What the conformance suite asks of a store: the plugins' own store writes.
enum TestOperation: Sendable {
    case updateOrders([OrderLine])
    case updatePayments([PaymentLine])
    case deletePayments(PaymentQuery)
    case cancelPayment(CancelPaymentRequest)

    /// The plugin's write, answering through `reply` with what it did.
    func write(reply: @escaping @Sendable (TestOutcome) -> StoredReply) -> any PaymentWrite {
        switch self {
        case .updateOrders(let lines): UpdateOrdersWrite(lines: lines) { reply(.orders($0)) }
        case .updatePayments(let lines): UpdatePaymentsWrite(lines: lines) { reply(.payments($0)) }
        case .deletePayments(let query): DeletePaymentsWrite(query: query) { reply(.deleted($0)) }
        case .cancelPayment(let request): CancelPaymentWrite(request: request) { reply(.cancelled(payment: $0, cancellation: $1)) }
        }
    }
}

/// What a write did, as the tests read it.
enum TestOutcome: Sendable {
    case orders([OrderLineResult])
    case payments([PaymentLineResult])
    case deleted([Payment])
    case cancelled(payment: Payment, cancellation: PaymentCancellation)
    /// Refused as a whole, with nothing changed.
    case refused(DomainError)
}

extension StoreCommand {
    /// A command running one of the plugins' writes, whose replies say what it did.
    init(account: String, idempotencyKey: String, fingerprint: [UInt8], operation: TestOperation, now: UTCDateTime,
         epochSeconds: Int64, reply: @escaping @Sendable (TestOutcome) -> StoredReply) {
        self.init(account: account, idempotencyKey: idempotencyKey, fingerprint: fingerprint, write: operation.write(reply: reply),
                  now: now, epochSeconds: epochSeconds, errorFormat: .cin7)
    }
}

/// Replies the tests can read back: the plugins' real encoders come with the runtime.
enum TestReply {
    static func make(_ outcome: TestOutcome) -> StoredReply {
        switch outcome {
        case .payments(let results):
            var writer = CSVWriter(header: PaymentLineResult.header)
            for result in results { writer.writeRecord(result.csvFields) }
            return StoredReply(status: results.contains { !$0.errors.isEmpty } ? "partial" : "ok", contentType: "text/csv", body: writer.bytes)
        case .orders(let results):
            var writer = CSVWriter(header: OrderLineResult.header)
            for result in results { writer.writeRecord(result.csvFields) }
            return StoredReply(status: "ok", contentType: "text/csv", body: writer.bytes)
        case .deleted(let payments):
            return StoredReply(status: "ok", contentType: "text/csv", body: Array(payments.map { String($0.id) }.joined(separator: ",").utf8))
        case .cancelled(let payment, let cancellation):
            return StoredReply(status: "ok", contentType: "application/json", body: Array("\(payment.id)/\(cancellation.id)".utf8))
        case .refused(let error):
            return StoredReply(status: "error", contentType: "application/json", body: Array(error.code.rawValue.utf8), error: error)
        }
    }
}
