import Foundation
import Kafka
import Testing

@Suite("Two workers on PostgreSQL", .timeLimit(.minutes(6)))
struct TwoWorkersOnPostgresTests {
    @Test("two workers in one group on PostgreSQL, one killed mid-stream: every command answered, none applied twice")
    func oneOfTwoKilled() async throws {
        try await WorkerHarness.withPostgres { harness, databaseURL, others in
            others.add(try await WorkerHarness.startWorker(bootstrap: harness.bootstrap, store: databaseURL))
            // Both members hold partitions before the stream starts.
            try await harness.worker.waitForStandardError(containing: "partitions revoked")

            let total = 10_000
            let commands = WorkerHarness.paymentStream(count: total, prefix: "p")
            _ = try await harness.producer.sendAll(commands)
            try await harness.results.received.wait(forCount: total / 5, "replies before the crash", timeout: .seconds(180))
            harness.worker.signal(SIGKILL)

            try await harness.results.received.wait(for: "a reply to every command", timeout: .seconds(240)) { messages in
                Set(messages.compactMap { $0.headers.string(named: "correlation-id") }.filter { $0.hasPrefix("p-") }).count == total
            }
            let rows = try await harness.send("GetPayments", "fields=PaymentImportedRef").body.split(separator: "\n").dropFirst()
            #expect(rows.count == total, "no payment twice, none missing")
            #expect(Set(rows).count == total)
        }
    }
}
