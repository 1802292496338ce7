import PaymentStores
import PaymentsDomain
import Testing
import UpdateOrdersPlugin
import UpdatePaymentsPlugin

@Suite("PostgreSQL with several workers", .timeLimit(.minutes(3)))
struct PostgresConcurrencyTests {
    @Test("two workers inserting the same PaymentImportedRef, BackOfficeCode or OrderRef at once make one of each")
    func racingInserts() async throws {
        let database = try await TestPostgres.createDatabase()
        let first = try await PostgresPaymentStore(url: database.url)
        let second = try await PostgresPaymentStore(url: database.url)
        try await first.provision(order: Order(id: 12345, ref: "Ref123"), account: "123")
        let now = try UTCDateTime(parsing: "2026-11-22 10:00:00")

        func command(_ csv: String, key: String, orders: Bool = false) throws -> StoreCommand {
            let document = try CSVReader.read(csv)
            let operation: TestOperation = orders
                ? .updateOrders(try OrderLineDecoder.decode(document))
                : .updatePayments(try PaymentLineDecoder.decode(document))
            return StoreCommand(account: "123", idempotencyKey: key, fingerprint: Array(key.utf8), operation: operation,
                                now: now, epochSeconds: 1, reply: TestReply.make)
        }

        let rounds = 25
        try await withThrowingTaskGroup(of: Void.self) { group in
            for round in 0..<rounds {
                for (worker, store) in [first, second].enumerated() {
                    group.addTask {
                        let csv = "OrderRef,PaymentImportedRef,Amount,BackOfficeCode\nRef123,Race-\(round),\(worker + 1),BOC-\(round)-\(worker)\nRef123,Code-\(round)-\(worker),1,SHARED-\(round)\n"
                        _ = try await store.execute([try command(csv, key: "w\(worker)-r\(round)")])
                        _ = try await store.execute([try command("OrderRef\nOrder-\(round)\n", key: "o\(worker)-r\(round)", orders: true)])
                    }
                }
            }
            try await group.waitForAll()
        }

        let all = try await first.payments(account: "123", matching: PaymentQuery())
        for round in 0..<rounds {
            #expect(all.filter { $0.importedRef == "Race-\(round)" }.count == 1, "one payment per reference")
            #expect(all.filter { $0.backOfficeCode == "SHARED-\(round)" }.count == 1, "one holder per back office code")
        }
        #expect(Set(all.map(\.number)).count == all.count, "payment numbers are never shared")
        let registered = try await first.execute([try command("OrderRef\n" + (0..<rounds).map { "Order-\($0)" }.joined(separator: "\n") + "\n", key: "check", orders: true)])
        guard case .applied(let reply) = registered[0] else {
            Issue.record("order check not applied")
            return
        }
        // Every ref was already there, each once: the check creates no order.
        let ids = String(decoding: reply.body, as: UTF8.self).split(separator: "\n").dropFirst().map { $0.split(separator: ",")[1] }
        #expect(Set(ids).count == rounds)

        try await first.close()
        try await second.close()
        await TestPostgres.dropDatabase(database.name)
    }
}
