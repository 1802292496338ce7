import Foundation
import GRDB
@testable import PaymentStores
import PaymentsDomain
import Synchronization
import Testing
import UpdatePaymentsPlugin

@Suite("SQLite schema migration")
struct SQLiteMigrationTests {
    @Test("a file of the first schema opens migrated: payments, cancellations and records kept, a deleted id still never given again, BackOfficeCode still unique, purge by age still right")
    func fromTheFirstSchema() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("migration-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appendingPathComponent("payments.sqlite").path
        let old = try DatabaseQueue(path: path)
        try SQLiteSchema.migrator.migrate(old, upTo: "v1")
        try await old.write { db in
            try db.execute(sql: """
                INSERT INTO orders (id, account_id, order_ref) VALUES (12345, '123', 'Ref123');
                INSERT INTO payments (account_id, number, imported_ref, order_id, created_date, active, direction, amount,
                    transaction_authorized, back_office_code, life_cycle_state)
                VALUES ('123', 1, 'Keep', 12345, '2026-11-22 10:00:00', 1, 1, 10000, 0, 'BOC-1', 'POSTED'),
                       ('123', 2, 'Gone', 12345, '2026-11-22 10:00:00', 1, 1, 10000, 0, NULL, 'POSTED');
                INSERT INTO payment_cancellations (account_id, number, payment_id, amount, issued_on, posted_on, life_cycle_state,
                    type_id, udf) VALUES ('123', 1, 1001, 10000, '2026-11-22 10:00:00', '2026-11-22 10:00:00', 'POSTED', 'T1', '{}');
                INSERT INTO account_counters (account_id, next_payment_number, next_cancellation_number) VALUES ('123', 3, 2);
                DELETE FROM payments WHERE imported_ref = 'Gone';
                INSERT INTO idempotency_records VALUES ('123', 'old', x'00', 'ok', 'text/csv', x'', 100), ('123', 'new', x'00', 'ok', 'text/csv', x'', 200),
                    ('123', 'cin7-error', x'00', 'error', 'application/json', CAST('{"code":"UNAUTHORIZED","message":"bad key"}' AS BLOB), 200),
                    ('123', 'crm-error', x'00', 'error', 'application/json',
                     CAST('{"status":{"message":"no such payment","description":"no such payment","code":"NOT_FOUND"},"data":null}' AS BLOB), 200);
                """)
        }
        try old.close()

        let store = try SQLitePaymentStore(path: path)
        let kept = try await store.payments(account: "123", matching: PaymentQuery())
        #expect(kept.map(\.id) == [1001] && kept.map(\.backOfficeCode) == ["BOC-1"])
        let now = try UTCDateTime(parsing: "2026-11-22 10:00:00")
        func run(_ csv: String, key: String) async throws -> [PaymentLineResult] {
            let lines = try PaymentLineDecoder.decode(try CSVReader.read(csv))
            let results = Mutex<[PaymentLineResult]>([])
            _ = try await store.execute([StoreCommand(
                account: "123", idempotencyKey: key, fingerprint: Array(key.utf8), operation: .updatePayments(lines),
                now: now, epochSeconds: 300
            ) { outcome in
                if case .payments(let lines) = outcome { results.withLock { $0 = lines } }
                return TestReply.make(outcome)
            }])
            return results.withLock { $0 }
        }
        let inserted = try await run("OrderRef,PaymentImportedRef,Amount\nRef123,After,1\n", key: "k1")
        #expect(inserted.first?.paymentId == 1003, "1002 was deleted before the migration and is not given again")
        let clash = try await run("OrderRef,PaymentImportedRef,Amount,BackOfficeCode\nRef123,Other,1,BOC-1\n", key: "k2")
        #expect(clash.first?.errors.contains("BackOfficeCode 'BOC-1' belongs to another payment") == true)
        #expect(try await store.purgeIdempotencyRecords(createdBefore: 150) == 1)
        #expect(try await store.idempotencyRecord(account: "123", key: "old") == nil)
        #expect(try await store.idempotencyRecord(account: "123", key: "new") != nil)
        #expect(try await store.idempotencyRecord(account: "123", key: "k1") != nil)
        // Error replies recorded before keep their code and message as fields.
        #expect(try await store.idempotencyRecord(account: "123", key: "cin7-error")?.reply.error == DomainError(.unauthorized, "bad key"))
        #expect(try await store.idempotencyRecord(account: "123", key: "crm-error")?.reply.error == DomainError(.notFound, "no such payment"))
        #expect(try await store.idempotencyRecord(account: "123", key: "new")?.reply.error == nil)
        try await store.close()
        let reopened = try DatabaseQueue(path: path)
        #expect(try await reopened.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM payment_cancellations") } == 1)
        #expect(try await reopened.read { db in try String.fetchOne(db, sql: "PRAGMA foreign_key_check") } == nil)
        try reopened.close()
    }
}
