import Foundation
import Kafka
import Testing

/// Bad and big input end to end, limits at their defaults (DESIGN.md §3, §6): each gets its
/// clear error, nothing is INTERNAL, nothing goes to the DLQ, the partition moves on.
@Suite("Bad and big input", .serialized, .timeLimit(.minutes(4)))
struct BadInputTests {
    @Test("a 10 000-term orderby, a 900 kB where, 900 kB of CSV quotes, a duplicate JSON key: each its own error, none INTERNAL")
    func eachItsError() async throws {
        try await WorkerHarness.with { harness in
            let orderBy = try await harness.send("GetPayments", "orderby=" + Array(repeating: "PaymentId", count: 10_000).joined(separator: ","))
            #expect(orderBy.status == "error" && orderBy.body.contains("\"code\":\"INVALID_QUERY\"") && orderBy.body.contains("more than 32 terms"),
                    "\(orderBy.body.prefix(300))")

            let longWhere = try await harness.send("GetPayments", "where=PaymentImportedRef%3D'" + String(repeating: "x", count: 900_000) + "'",
                                                   timeout: .seconds(60))
            #expect(longWhere.status == "error" && longWhere.body.contains("\"code\":\"TOO_LARGE\""), "\(longWhere.body.prefix(300))")
            #expect(longWhere.body.count < 1_000, "nothing of the input echoed")

            let quotes = try await harness.send("UpdatePayments", String(repeating: "\"", count: 900_000), timeout: .seconds(60))
            #expect(quotes.status == "error" && quotes.body.contains("\"code\":\"MALFORMED\""), "\(quotes.body.prefix(300))")

            let duplicate = try await harness.send(
                "CancelPayment", #"{"token":"B8D7A12E9F91AFADE914B7330AFD08CB","token":"other","payment_identifier":{"reference_number":"x"},"type_identifier":{"name":"Payment Cancellation"}}"#,
                headers: [:])
            #expect(duplicate.status == "error" && duplicate.body.contains("\"code\":\"MALFORMED\"") && duplicate.body.contains("given twice"),
                    "\(duplicate.body.prefix(300))")

            #expect(try await harness.send("GetPayments", "fields=PaymentId").status == "ok", "the partition moved on")
            #expect(harness.dlq.received.items.isEmpty)
        }
    }

    @Test("unknown command names, however many, are one metric label: unknown")
    func unknownCommandsOneLabel() async throws {
        try await WorkerHarness.with { harness in
            for index in 0..<50 {
                try await harness.sendRaw("Bogus\(index)\u{0}", [], correlationId: "bogus-\(index)")
            }
            try await harness.results.received.wait(for: "50 replies") { messages in
                messages.filter { $0.headers.string(named: "correlation-id")?.hasPrefix("bogus-") == true }.count == 50
            }
            let port = try await OperationsTests.operationsPort(of: harness.worker)
            let text = try await OperationsTests.get(port: port, path: "/metrics").body
            let series = text.split(separator: "\n").filter { $0.hasPrefix("payment_worker_commands_total{") }
            #expect(series.contains { $0.contains("command=\"unknown\"") && $0.hasSuffix(" 50") }, "\(series)")
            #expect(!text.contains("Bogus"))
        }
    }
}
