import Foundation
import Kafka
import Testing

/// `send` and `tail` as a user runs them, against a real broker and worker.
@Suite("Tools", .serialized)
struct ToolsTests {
    @Test("send answers one command with its reply body and exit status")
    func sendOne() async throws {
        try await WorkerHarness.with { harness in
            let ok = try ChildProcess(
                TestBinaries.paymentWorker, Self.send(harness, "UpdateOrders", "--key", "Ref900"), standardInput: Data("OrderRef\nRef900\n".utf8))
            #expect(try await ok.waitForExit() == 0, "\(ok.standardError)")
            #expect(ok.standardOutput.hasPrefix("LineId,OrderId,OrderRef,Errors\n1,"), "\(ok.standardOutput)")
            #expect(ok.standardOutput.hasSuffix(",Ref900,\n"))

            let refused = try ChildProcess(
                TestBinaries.paymentWorker, ["send", "--command", "GetPayments", "--apiid", "123", "--apikey", "wrong",
                                             "--bootstrap-servers", harness.bootstrap], standardInput: Data())
            #expect(try await refused.waitForExit() == 1)
            #expect(refused.standardOutput.contains("\"code\":\"UNAUTHORIZED\""))
            #expect(refused.standardError.contains("send: status error"))
        }
    }

    @Test("a large CSV goes in chunks: one reply CSV numbered as the file, a summary, and a resend changes nothing")
    func chunkedImport() async throws {
        try await WorkerHarness.with { harness in
            let lines = 2_050
            var csv = "OrderRef,PaymentImportedRef,Amount\n"
            for line in 1...lines { csv += "Ref123,BULK-\(line),\(line == 1_234 ? "ten" : "1.25")\n" }
            let file = harness.folder.appendingPathComponent("import.csv")
            try FileManager.default.createDirectory(at: harness.folder, withIntermediateDirectories: true)
            try Data(csv.utf8).write(to: file)
            let arguments = Self.send(harness, "UpdatePayments", "--chunk-lines", "500", "--in-flight", "2",
                                      "--idempotency-key", "import-1", "--progress", "always", file.path)

            let first = try ChildProcess(TestBinaries.paymentWorker, arguments)
            #expect(try await first.waitForExit(timeout: .seconds(120)) == 1, "one line is refused, so not all ok")
            let rows = first.standardOutput.split(separator: "\n")
            #expect(rows.first == "LineId,PaymentId,PaymentImportedRef,OrderId,OrderRef,Errors")
            #expect(rows.dropFirst().map { $0.prefix { $0 != "," } } == (1...lines).map { Substring(String($0)) })
            let failed = rows.dropFirst().filter { !$0.hasSuffix(",") }
            #expect(failed.count == 1 && failed.first?.hasPrefix("1234,,BULK-1234,") == true, "\(failed)")
            // The file's line (the header is line 1), not line 235 of the third chunk.
            #expect(failed.first?.contains("line 1235: ") == true, "\(failed)")
            #expect(first.standardError.contains(
                "send: 2050 lines in 5 chunks: 4 ok, 1 partial, 0 error; 1 lines with errors"), "\(first.standardError)")
            #expect(first.standardError.contains("100%  2050/2050 lines"))

            let again = try ChildProcess(TestBinaries.paymentWorker, arguments)
            #expect(try await again.waitForExit(timeout: .seconds(120)) == 1)
            #expect(again.standardError.contains("4 ok, 1 partial, 0 error (5 replayed)"), "\(again.standardError)")
            #expect(again.standardOutput == first.standardOutput)

            let stored = try await harness.send("GetPayments", "fields=PaymentImportedRef&where=PaymentImportedRef%20LIKE%20'BULK-%25'")
            let refs = (stored.valueString ?? "").split(separator: "\n").dropFirst()
            #expect(refs.count == lines - 1 && Set(refs).count == lines - 1)
        }
    }

    @Test("a chunk the worker refuses is named in the summary with its lines")
    func refusedChunk() async throws {
        try await WorkerHarness.with { harness in
            // An unclosed quote in line 4 makes the second chunk malformed; the others go in.
            let csv = "OrderRef,PaymentImportedRef,Amount\nRef123,Q-1,1\nRef123,Q-2,1\nRef123,\"Q-3,1\nRef123,Q-4,1\n"
            let send = try ChildProcess(
                TestBinaries.paymentWorker, Self.send(harness, "UpdatePayments", "--chunk-lines", "2"), standardInput: Data(csv.utf8))
            #expect(try await send.waitForExit() == 1)
            #expect(send.standardError.contains("send: 3 lines in 2 chunks: 1 ok, 0 partial, 1 error"), "\(send.standardError)")
            #expect(send.standardError.contains("send: lines 3 refused: MALFORMED: line 4, column 2: a quoted field is never closed"),
                    "\(send.standardError)")
        }
    }

    @Test("tail shows each reply and error event as it is published")
    func tail() async throws {
        try await WorkerHarness.with { harness in
            let tail = try ChildProcess(TestBinaries.paymentWorker, ["tail", "--bootstrap-servers", harness.bootstrap])
            defer { tail.kill9IfRunning() }
            try await tail.waitForStandardError(containing: "tail: following payments.results and payments.errors")
            let good = UUID().uuidString
            let bad = UUID().uuidString
            try await harness.send("UpdateOrders", "OrderRef\nRef901\n", correlationId: good)
            try await harness.send("UpdateOrders", "OrderRef\nRef902\n", headers: ["apiid": "123", "apikey": "nope"], correlationId: bad)
            try await tail.waitForStandardOutput(containing: [
                "reply  UpdateOrders  ok  idempotency-key=",
                "/payments.commands/",
                "correlation-id=\(good)",
                "reply  UpdateOrders  error",
                "error  UNAUTHORIZED  UpdateOrders  the credentials are not valid for UpdateOrders",
                "correlation-id=\(bad)  source=payments.commands/",
            ])
            #expect(!tail.standardOutput.contains("nope"), "a secret is never shown")
            tail.signal(SIGTERM)
            try await tail.waitForExit()
        }
    }

    static func send(_ harness: WorkerHarness, _ command: String, _ more: String...) -> [String] {
        ["send", "--command", command, "--apiid", "123", "--apikey", "12345", "--bootstrap-servers", harness.bootstrap] + more
    }
}

extension ToolsTests {
    @Test("a 100 000-line import (the default line limit) sent through send is answered in full")
    func hundredThousandLines() async throws {
        try await WorkerHarness.with { harness in
            var csv = "OrderRef,PaymentImportedRef,Amount\n"
            for line in 1...100_000 { csv += "Ref123,HUNDRED-\(line),1.25\n" }
            let file = harness.folder.appendingPathComponent("hundred.csv")
            try FileManager.default.createDirectory(at: harness.folder, withIntermediateDirectories: true)
            try Data(csv.utf8).write(to: file)
            let send = try ChildProcess(TestBinaries.paymentWorker, Self.send(harness, "UpdatePayments", file.path))
            #expect(try await send.waitForExit(timeout: .seconds(240)) == 0, "\(send.standardError.suffix(500))")
            let rows = send.standardOutput.split(separator: "\n")
            #expect(rows.count == 100_001, "a header and every line")
            #expect(rows.last?.hasPrefix("100000,") == true && rows.last?.hasSuffix(",") == true)
            #expect(send.standardError.contains("100000 lines in"), "\(send.standardError.suffix(300))")
        }
    }
}
