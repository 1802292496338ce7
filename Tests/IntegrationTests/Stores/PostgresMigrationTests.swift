@testable import PaymentStores
import PaymentsDomain
import Testing

@Suite("PostgreSQL schema migration")
struct PostgresMigrationTests {
    @Test("a database of the first schema opens migrated: error replies recorded before keep their code and message as fields")
    func errorFields() async throws {
        let database = try await TestPostgres.createDatabase()
        do {
            let first = try #require(PostgresSchema.migrations.first { $0.version == 1 })
            try await TestPostgres.execute(first.sql + [
                "CREATE TABLE schema_migrations (version INT PRIMARY KEY)",
                "INSERT INTO schema_migrations (version) VALUES (1)",
                """
                INSERT INTO idempotency_records VALUES
                ('123', 'ok', '\\x00', 'ok', 'text/csv', '\\x', 100),
                ('123', 'cin7-error', '\\x00', 'error', 'application/json', convert_to('{"code":"UNAUTHORIZED","message":"bad key"}', 'UTF8'), 100),
                ('123', 'crm-error', '\\x00', 'error', 'application/json',
                 convert_to('{"status":{"message":"no such payment","description":"no such payment","code":"NOT_FOUND"},"data":null}', 'UTF8'), 100)
                """,
            ], in: database.name)
            let store = try await PostgresPaymentStore(url: database.url)
            #expect(try await store.idempotencyRecord(account: "123", key: "cin7-error")?.reply.error == DomainError(.unauthorized, "bad key"))
            #expect(try await store.idempotencyRecord(account: "123", key: "crm-error")?.reply.error == DomainError(.notFound, "no such payment"))
            let ok = try #require(try await store.idempotencyRecord(account: "123", key: "ok"))
            #expect(ok.reply.error == nil && ok.reply.status == "ok")
            try await store.close()
        } catch {
            await TestPostgres.dropDatabase(database.name)
            throw error
        }
        await TestPostgres.dropDatabase(database.name)
    }
}
