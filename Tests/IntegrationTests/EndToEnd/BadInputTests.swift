import Foundation
import Kafka
import Testing

/// Bad and big input end to end, limits at their defaults (docs/contract.md §3, §6): each gets its
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

extension BadInputTests {
    @Test("16 MB bodies of the worst shapes (CSV quotes, nested JSON brackets) are answered, each with its error, in seconds")
    func sixteenMegabytes() async throws {
        try await WorkerHarness.with { harness in
            let big = try KafkaProducer(configuration: KafkaProducerConfiguration(common: KafkaConfiguration(
                bootstrapServers: [harness.bootstrap], clientID: "big", properties: ["message.max.bytes": "20000000"])), logger: .quiet("test.big"))
            let shapes: [(command: String, body: [UInt8], code: String)] = [
                ("UpdatePayments", Array(repeating: UInt8(ascii: "\""), count: 16_000_000), "MALFORMED"),
                ("CancelPayment", Array(repeating: UInt8(ascii: "["), count: 16_000_000), "MALFORMED"),
            ]
            for (index, shape) in shapes.enumerated() {
                var headers = [KafkaHeader(name: "command", string: shape.command), KafkaHeader(name: "correlation-id", string: "big-\(index)")]
                if shape.command != "CancelPayment" { headers += [KafkaHeader(name: "apiid", string: "123"), KafkaHeader(name: "apikey", string: "12345")] }
                try await big.send(KafkaProducerMessage(topic: "payments.commands", key: Array("Ref123".utf8), value: shape.body, headers: headers))
                // A deadline for the answer, not a timing: the reader must not be quadratic.
                let reply = try await harness.reply(to: "big-\(index)", timeout: .seconds(60))
                #expect(reply.status == "error" && reply.body.contains("\"\(shape.code)\""), "\(shape.command): \(reply.body.prefix(300))")
            }

            // A 1.1 MB cell, and a 1.1 MB correlation-id beside an idempotency key to match by.
            let cell = "OrderRef,PaymentImportedRef,Amount,Comments\nRef123,CELL-1,1,\(String(repeating: "c", count: 1_100_000))\n"
            try await big.send(KafkaProducerMessage(topic: "payments.commands", key: Array("Ref123".utf8), value: Array(cell.utf8), headers: [
                KafkaHeader(name: "command", string: "UpdatePayments"), KafkaHeader(name: "apiid", string: "123"),
                KafkaHeader(name: "apikey", string: "12345"), KafkaHeader(name: "correlation-id", string: "big-cell"),
            ]))
            let cellReply = try await harness.reply(to: "big-cell", timeout: .seconds(60))
            #expect(cellReply.status == "partial" && cellReply.body.count < 1_000 && cellReply.body.contains("4096"), "\(cellReply.body.prefix(300))")
            try await big.send(KafkaProducerMessage(topic: "payments.commands", key: Array("Ref123".utf8), value: Array("fields=PaymentId".utf8), headers: [
                KafkaHeader(name: "command", string: "GetPayments"), KafkaHeader(name: "apiid", string: "123"),
                KafkaHeader(name: "apikey", string: "12345"), KafkaHeader(name: "idempotency-key", string: "huge-header"),
                KafkaHeader(name: "correlation-id", string: String(repeating: "h", count: 1_100_000)),
            ]))
            let byKey = try await harness.results.received.wait(for: "the reply", timeout: .seconds(60)) {
                $0.contains { $0.headers.string(named: "source") != nil && $0.body.contains("the headers are") }
            }
            let headerReply = try #require(byKey.first { $0.body.contains("the headers are") })
            #expect(headerReply.status == "error" && headerReply.body.contains("\"MALFORMED\""))
            #expect(headerReply.headers.string(named: "correlation-id") == nil)
            await big.close()
        }
    }
}
