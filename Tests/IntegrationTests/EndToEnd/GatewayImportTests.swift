import Foundation
import Testing

/// Bulk imports through the gateway (docs/contract.md §8, large imports): an UpdatePayments body
/// larger than one Kafka message goes as chunk commands and is answered as one CSV.
@Suite("HTTP gateway: large imports", .serialized, .timeLimit(.minutes(6)))
struct GatewayImportTests {
    /// `count` insert lines for order Ref123, PaymentImportedRef `<prefix>-<n>`; the lines
    /// whose 1-based number is in `bad` have an amount that is not a number.
    static func importFile(count: Int, prefix: String, bad: Set<Int> = []) -> String {
        var text = "OrderRef,PaymentImportedRef,Amount\n"
        text.reserveCapacity(count * 40)
        for line in 1...count {
            text += "Ref123,\(prefix)-\(line),\(bad.contains(line) ? "abc" : "\(line % 100).25")\n"
        }
        return text
    }

    /// The reply's rows after the header.
    static func rows(_ body: String) -> [Substring] {
        Array(body.split(separator: "\n").dropFirst())
    }

    static let bodyLimit = 16 << 20

    @Test("a 100 000-line UpdatePayments POST is answered with 100 000 rows in request order, and 100 000 payments are stored once")
    func hundredThousandLines() async throws {
        try await WorkerHarness.with { harness in
            try await GatewayTests.withGateway(harness, timeoutSeconds: 240, maxBodyBytes: Self.bodyLimit) { gateway in
                let file = Self.importFile(count: 100_000, prefix: "BULK")
                #expect(file.utf8.count > 2_000_000, "several Kafka messages' worth")
                let response = try await gateway.send("POST", "action=UpdatePayments", body: file, headers: ["Idempotency-Key": "bulk-1"])
                #expect(response.status == 200 && response.headers["X-Reply-Status"] == "ok", "\(response.status) \(response.body.prefix(300))")
                #expect(response.body.hasPrefix("LineId,PaymentId,PaymentImportedRef,OrderId,OrderRef,Errors\n"))
                let rows = Self.rows(response.body)
                #expect(rows.count == 100_000)
                let inOrder = rows.enumerated().allSatisfy { index, row in row.hasPrefix("\(index + 1),") && row.contains(",BULK-\(index + 1),") && row.hasSuffix(",") }
                #expect(inOrder, "one row a line, in request order, no errors")
                let stored = try await gateway.send("GET", "action=GetPayments&fields=PaymentImportedRef")
                let refs = Self.rows(stored.body)
                #expect(refs.count == 100_000 && Set(refs).count == 100_000, "each payment once: \(refs.count)")
            }
        }
    }

    @Test("an import retried with its Idempotency-Key after its gateway was killed half-way applies nothing twice and answers every line")
    func retryAfterGatewayKilled() async throws {
        // Small messages, so that a modest file is many chunks.
        let small = ["--kafka-property", "message.max.bytes=100000"]
        try await WorkerHarness.with { harness in
            let file = Self.importFile(count: 20_000, prefix: "KILL")
            try await GatewayTests.withGateway(harness, maxBodyBytes: Self.bodyLimit, extraArguments: small, stopping: false) { gateway in
                // Answered 202 once every chunk is in Kafka, so no HTTP exchange is open when the
                // gateway dies (FoundationNetworking's client can crash on a connection reset
                // under it).
                let accepted = try await gateway.send(
                    "POST", "action=UpdatePayments", body: file,
                    headers: ["Idempotency-Key": "kill-1", "X-Correlation-Id": "kill-1", "Prefer": "respond-async"])
                #expect(accepted.status == 202)
                _ = try await harness.results.received.first("a chunk's reply", timeout: .seconds(60)) {
                    $0.headers.string(named: "correlation-id")?.hasPrefix("kill-1/") == true
                }
                gateway.process.kill9IfRunning()
                _ = try await gateway.process.waitForExit(timeout: .seconds(20))
            }
            try await GatewayTests.withGateway(harness, timeoutSeconds: 120, maxBodyBytes: Self.bodyLimit, extraArguments: small) { gateway in
                let retry = try await gateway.send("POST", "action=UpdatePayments", body: file, headers: ["Idempotency-Key": "kill-1"])
                #expect(retry.status == 200 && retry.headers["X-Reply-Status"] == "ok", "\(retry.status) \(retry.body.prefix(300))")
                let rows = Self.rows(retry.body)
                #expect(rows.count == 20_000 && rows.enumerated().allSatisfy { $1.hasPrefix("\($0 + 1),") && $1.contains(",KILL-\($0 + 1),") })
                let stored = Self.rows(try await gateway.send("GET", "action=GetPayments&fields=PaymentImportedRef").body)
                #expect(stored.count == 20_000 && Set(stored).count == 20_000, "applied once: \(stored.count)")
            }
        }
    }

    @Test("a large import with bad lines is 200 partial, each bad line named by its request line; an unknown column refuses every chunk with 400")
    func mixedAndRefused() async throws {
        let small = ["--kafka-property", "message.max.bytes=100000"]
        try await WorkerHarness.with { harness in
            try await GatewayTests.withGateway(harness, timeoutSeconds: 120, maxBodyBytes: Self.bodyLimit, extraArguments: small) { gateway in
                let bad: Set = [7, 9_999, 14_321]
                let mixed = try await gateway.send("POST", "action=UpdatePayments", body: Self.importFile(count: 15_000, prefix: "MIX", bad: bad))
                #expect(mixed.status == 200 && mixed.headers["X-Reply-Status"] == "partial", "\(mixed.status)")
                let rows = Self.rows(mixed.body)
                #expect(rows.count == 15_000)
                let failed = rows.filter { !$0.hasSuffix(",") }.compactMap { Int($0.prefix { $0 != "," }) }
                #expect(Set(failed) == bad, "the bad lines, by request line: \(failed)")

                var unknown = "OrderRef,PaymentImportedRef,Amount,Colour\n"
                for line in 1...5_000 { unknown += "Ref123,COL-\(line),1.00,red\n" }
                let refused = try await gateway.send("POST", "action=UpdatePayments", body: unknown)
                #expect(refused.status == 400 && refused.body.contains("MALFORMED") && refused.body.contains("lines 1-"), "\(refused.status) \(refused.body)")
            }
        }
    }

    @Test("a CSV row larger than a Kafka message is 413 with the limit in the message, before anything is produced; JSON logs are one object a line")
    func oversizedRow() async throws {
        try await WorkerHarness.with { harness in
            try await GatewayTests.withGateway(harness, maxBodyBytes: Self.bodyLimit, extraArguments: ["--log-format", "json"]) { gateway in
                let huge = "OrderRef,PaymentImportedRef,Amount,Comments\nRef123,HUGE-1,1.00,\(String(repeating: "x", count: 1_100_000))\nRef123,HUGE-2,1.00,ok\n"
                let response = try await gateway.send("POST", "action=UpdatePayments", body: huge, headers: ["X-Correlation-Id": "huge-1"])
                #expect(response.status == 413 && response.body.contains("TOO_LARGE") && response.body.contains("line 1"), "\(response.status) \(response.body)")
                #expect(response.body.contains("bytes"), "the limit is in the message: \(response.body)")
                // A later request's reply comes after anything the refused one could have produced.
                let later = try await gateway.send("POST", "action=UpdatePayments", body: GatewayTests.seedInsert, headers: ["X-Correlation-Id": "after-huge"])
                #expect(later.status == 200)
                #expect(!harness.results.received.items.contains { $0.headers.string(named: "correlation-id")?.hasPrefix("huge-1") == true },
                        "nothing of the refused request reached a worker")
                let lines = gateway.process.standardError.split(separator: "\n")
                #expect(lines.contains { $0.contains("gateway listening") })
                #expect(lines.allSatisfy { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) is [String: Any] }, "\(lines.prefix(3))")
            }
        }
    }
}
