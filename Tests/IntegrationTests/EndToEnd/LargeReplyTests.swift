import Foundation
import Kafka
import Testing

/// Replies too large for one Kafka message (docs/contract.md §4): never dropped, never stuck.
@Suite("Large replies", .serialized, .timeLimit(.minutes(5)))
struct LargeReplyTests {
    /// The parts of the reply to `correlationId`, once all `n` have arrived, in part order.
    static func parts(of correlationId: String, in harness: WorkerHarness, replayed: Bool = false) async throws -> [KafkaConsumerMessage] {
        let matching: @Sendable ([KafkaConsumerMessage]) -> [KafkaConsumerMessage] = { messages in
            messages.filter { $0.headers.string(named: "correlation-id") == correlationId
                && $0.headers.string(named: "replayed") == (replayed ? "true" : "false") }
        }
        let all = try await harness.results.received.wait(for: "every part of \(correlationId)", timeout: .seconds(120)) { messages in
            let parts = matching(messages)
            guard let count = parts.first?.headers.string(named: "reply-part")?.split(separator: "/").last.flatMap({ Int($0) }) else { return false }
            return Set(parts.compactMap { $0.headers.string(named: "reply-part") }).count == count
        }
        return matching(all).sorted { partNumber($0) < partNumber($1) }
    }

    static func partNumber(_ message: KafkaConsumerMessage) -> Int {
        message.headers.string(named: "reply-part")?.split(separator: "/").first.flatMap { Int($0) } ?? 0
    }

    static func rows(_ message: KafkaConsumerMessage) -> [Substring] {
        message.body.split(separator: "\n", omittingEmptySubsequences: false).dropLast().map { $0 }
    }

    @Test("a 30 000-line import's reply comes in whole-CSV parts, the partition moves on, and a replay sends the same parts")
    func updateReplyInParts() async throws {
        try await WorkerHarness.with { harness in
            let lines = 30_000
            var csv = "OrderRef,PaymentImportedRef,Amount\n"
            for line in 1...lines { csv += "Ref123,BIG-\(line),1.25\n" }
            let headers = WorkerHarness.seedCredentials.merging(["idempotency-key": "big-import"]) { $1 }
            try await harness.sendRaw("UpdatePayments", Array(csv.utf8), headers: headers, correlationId: "big")
            let parts = try await Self.parts(of: "big", in: harness)
            #expect(parts.count >= 2, "about 1 MB of reply is over the 1 MB message limit")
            #expect(parts.allSatisfy { $0.status == "ok" && $0.headers.string(named: "reply-part")?.hasSuffix("/\(parts.count)") == true })
            #expect(parts.allSatisfy { ($0.value?.count ?? 0) < 1_000_000 })
            var lineIds: [Substring] = []
            for part in parts {
                let rows = Self.rows(part)
                #expect(rows.first == "LineId,PaymentId,PaymentImportedRef,OrderId,OrderRef,Errors", "each part is a whole CSV")
                lineIds += rows.dropFirst().map { $0.prefix { $0 != "," } }
            }
            let everyLineInOrder = lineIds == (1...lines).map { Substring(String($0)) }
            #expect(everyLineInOrder, "every line once, in order")

            // The partition was not blocked behind it.
            let next = try await harness.send("UpdatePayments", "OrderRef,PaymentImportedRef,Amount\nRef123,AFTER-BIG,2\n")
            #expect(next.status == "ok")

            try await harness.sendRaw("UpdatePayments", Array(csv.utf8), headers: headers, correlationId: "big")
            let replayed = try await Self.parts(of: "big", in: harness, replayed: true)
            let sameParts = replayed.map(\.value) == parts.map(\.value)
            #expect(sameParts, "the same parts, from the record")
            #expect(harness.dlq.received.items.isEmpty)
        }
    }

    @Test("a GetPayments of 30 000 rows comes in parts that join to every row")
    func getReplyInParts() async throws {
        try await WorkerHarness.with { harness in
            var csv = "OrderRef,PaymentImportedRef,Amount\n"
            for line in 1...30_000 { csv += "Ref123,ROW-\(line),1.25\n" }
            try await harness.sendRaw("UpdatePayments", Array(csv.utf8), correlationId: "fill")
            _ = try await Self.parts(of: "fill", in: harness)
            try await harness.sendRaw("GetPayments", Array("orderby=PaymentId".utf8), correlationId: "get-all")
            let parts = try await Self.parts(of: "get-all", in: harness)
            #expect(parts.count >= 3)
            let header = Self.rows(parts[0]).first
            #expect(header?.hasPrefix("PaymentId,") == true)
            let rows = parts.flatMap { part -> [Substring] in
                #expect(Self.rows(part).first == header)
                return Array(Self.rows(part).dropFirst())
            }
            #expect(rows.count == 30_000)
            let ids = rows.compactMap { Int($0.prefix { $0 != "," }) }
            // Compared as one Bool: a failure would otherwise print 30 000 ids.
            let inOrderOnce = ids.count == 30_000 && zip(ids, ids.dropFirst()).allSatisfy { $0 < $1 }
            #expect(inOrderOnce, "every payment once, in PaymentId order")

            // send joins the parts and prints one CSV.
            let send = try ChildProcess(TestBinaries.paymentWorker, ToolsTests.send(harness, "GetPayments"),
                                        standardInput: Data("orderby=PaymentId".utf8))
            #expect(try await send.waitForExit(timeout: .seconds(60)) == 0, "\(send.standardError)")
            let printed = send.standardOutput.split(separator: "\n")
            #expect(printed.first == header && printed.count == 30_001, "one header, every row: \(printed.count) lines")
        }
    }

    @Test("a 1.5 MB poison message, too large to copy to the DLQ, does not block its partition: error event, refusal counted, next command answered")
    func refusedDLQCopy() async throws {
        try await WorkerHarness.with { harness in
            let bigProducer = try KafkaProducer(configuration: KafkaProducerConfiguration(common: KafkaConfiguration(
                bootstrapServers: [harness.bootstrap], clientID: "big", properties: ["message.max.bytes": "2000000"])), logger: .quiet("test.big"))
            // No command header: poison, so its DLQ copy is the whole 1.5 MB.
            try await bigProducer.send(KafkaProducerMessage(
                topic: "payments.commands", key: Array("Ref123".utf8), value: Array(repeating: UInt8(ascii: "x"), count: 1_500_000),
                headers: [KafkaHeader(name: "correlation-id", string: "huge-poison")]))
            await bigProducer.close()
            let event = try await harness.errorEvent(for: "huge-poison")
            #expect(event["code"] as? String == "MALFORMED")
            let next = try await harness.send("UpdatePayments", "OrderRef,PaymentImportedRef,Amount\nRef123,AFTER-POISON,2\n")
            #expect(next.status == "ok", "the partition moved on")
            let port = try await OperationsTests.operationsPort(of: harness.worker)
            let metrics = OperationsTests.samples(try await OperationsTests.get(port: port, path: "/metrics").body)
            #expect(metrics["payment_worker_publish_refused_total{topic=\"payments.dlq\"}"] == 1)
        }
    }
}
