import Foundation
import PaymentStores
import PaymentsDomain
import Testing
import UpdatePaymentsPlugin

@Suite("PostgreSQL planner statistics", .timeLimit(.minutes(2)))
struct PostgresStatisticsTests {
    @Test("a fresh database is analyzed once the store has written the rows it was given, not before")
    func analyzesAfterRows() async throws {
        let database = try await TestPostgres.createDatabase()
        let store = try await PostgresPaymentStore(url: database.url, analyzeAfterRows: 50)
        try await store.provision(order: Order(id: 12345, ref: "Ref123"), account: "123")
        let now = try UTCDateTime(parsing: "2026-11-22 10:00:00")
        func command(lines: Int, key: String) throws -> StoreCommand {
            let csv = "OrderRef,PaymentImportedRef,Amount\n" + (0..<lines).map { "Ref123,\(key)-\($0),1\n" }.joined()
            return StoreCommand(account: "123", idempotencyKey: key, fingerprint: Array(key.utf8),
                                operation: .updatePayments(try PaymentLineDecoder.decode(try CSVReader.read(csv))),
                                now: now, epochSeconds: 1, reply: TestReply.make)
        }

        _ = try await store.execute([try command(lines: 10, key: "small")])
        #expect(try await TestPostgres.lastAnalyzed("payments", in: database.name) == nil, "11 rows written: not yet")

        _ = try await store.execute([try command(lines: 60, key: "large")])
        // Closing waits for the ANALYZE the second batch started.
        try await store.close()
        #expect(try await TestPostgres.lastAnalyzed("payments", in: database.name) != nil)
        #expect(try await TestPostgres.lastAnalyzed("idempotency_records", in: database.name) != nil)
        await TestPostgres.dropDatabase(database.name)
    }
}
