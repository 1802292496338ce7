import Foundation
import Kafka
import Testing

/// The worker as users meet it: real `broker` and `run` processes, commands in, replies out.
@Suite("Worker end to end", .serialized, .timeLimit(.minutes(5)))
struct WorkerEndToEndTests {
    static let seedInsert = """
        OrderRef,PaymentImportedRef,Active,Method,Direction,Amount,Date,TransactionAuthorized,TransactionRef
        Ref123,Ref456,1,Direct Credit,1,123.50,2013-09-16 1:00:00,1,ABC123456789
        """
    /// The seed's cancel request without the trailing comma the seed ends its object with,
    /// which strict JSON (docs/contract.md §3) refuses.
    static let seedCancel = """
        {
        	"token": "B8D7A12E9F91AFADE914B7330AFD08CB",
        	"payment_identifier":{"reference_number":"Ref456"},
        	"type_identifier":{"name":"Payment Cancellation"},
        	"category_identifier":{"name":"Cancellation Because of Mistake"}
        }
        """

    @Test("the seed examples give the seed's responses, ids and dates aside")
    func seedExamples() async throws {
        try await WorkerHarness.with { harness in
            let orders = try await harness.send("UpdateOrders", "OrderRef\nRef124\n")
            #expect(orders.status == "ok")
            #expect(orders.body.hasPrefix("LineId,OrderId,OrderRef,Errors\n1,"))

            let insert = try await harness.send("UpdatePayments", Self.seedInsert)
            #expect(insert.status == "ok")
            #expect(insert.body == "LineId,PaymentId,PaymentImportedRef,OrderId,OrderRef,Errors\n1,1001,Ref456,12345,Ref123,\n")
            #expect(insert.headers.string(named: "command") == "UpdatePayments")
            #expect(insert.headers.string(named: "replayed") == "false")
            #expect(insert.headers.string(named: "content-type") == "text/csv")
            #expect(insert.keyString == "Ref123")
            #expect(insert.headers.string(named: "source")?.hasPrefix("payments.commands/") == true)

            let update = try await harness.send("UpdatePayments", "PaymentId,TransactionAuthorized,TransactionRef\n1001,1,ABC123456789\n")
            #expect(update.body == insert.body)

            let get = try await harness.send("GetPayments", "where=OrderRef%3D'Ref123'")
            let rows = get.body.split(separator: "\n").map { $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init) }
            #expect(rows.first == ["PaymentId", "PaymentImportedRef", "OrderId", "OrderRef", "CreatedDate", "Active", "Method",
                                   "Direction", "Amount", "Date", "TransactionAuthorized", "TransactionRef", "Comments"])
            #expect(rows.count == 2)
            var row = try #require(rows.last)
            row[4] = "<created>"
            #expect(row == ["1001", "Ref456", "12345", "Ref123", "<created>", "1", "Direct Credit", "1", "123.50",
                            "2013-09-16 01:00:00", "1", "ABC123456789", ""])

            let cancel = try await harness.send("CancelPayment", Self.seedCancel, headers: [:])
            #expect(cancel.status == "ok")
            let json = try #require(try JSONSerialization.jsonObject(with: Data(cancel.value ?? [])) as? [String: Any])
            #expect((json["status"] as? [String: Any])?["code"] as? String == "OK")
            let data = json["data"] as? [String: Any]
            #expect((data?["payment"] as? [String: Any])?["reference_number"] as? String == "Ref456")
            #expect((data?["payment"] as? [String: Any])?["life_cycle_state"] as? String == "CANCELLED")
            #expect((data?["payment_cancellation"] as? [String: Any])?["life_cycle_state"] as? String == "POSTED")

            _ = try await harness.send("UpdatePayments", "OrderRef,PaymentImportedRef,Amount\nRef123,Ref457,10\n")
            let delete = try await harness.send("DeletePayments", "where=OrderRef%3D'Ref123'")
            #expect(delete.body == "PaymentId,PaymentImportedRef,OrderId,OrderRef\n1001,Ref456,12345,Ref123\n1002,Ref457,12345,Ref123\n")
            let empty = try await harness.send("GetPayments", "where=OrderRef%3D'Ref123'")
            #expect(empty.status == "ok")
            #expect(empty.body.isEmpty, "blank when no records")
        }
    }

    @Test("a command consumed again is answered replayed and creates nothing; another body under its key conflicts")
    func idempotency() async throws {
        try await WorkerHarness.with { harness in
            var headers = WorkerHarness.seedCredentials
            headers["idempotency-key"] = "import-42"
            let first = try await harness.send("UpdatePayments", Self.seedInsert, headers: headers)
            let again = try await harness.send("UpdatePayments", Self.seedInsert, headers: headers)
            #expect(again.headers.string(named: "replayed") == "true")
            #expect(again.body == first.body)
            #expect(again.headers.string(named: "idempotency-key") == "import-42")

            let conflict = try await harness.send("UpdatePayments", "OrderRef,PaymentImportedRef,Amount\nRef123,Other,1\n", headers: headers)
            #expect(conflict.status == "error")
            #expect(conflict.body.contains("\"code\":\"IDEMPOTENCY_CONFLICT\""))
            let rows = try await harness.send("GetPayments", "fields=PaymentImportedRef")
            #expect(rows.body == "PaymentImportedRef\nRef456\n", "one payment, nothing from the conflicting body")
        }
    }

    @Test("the same message consumed again, by a second group on the same store, is answered replayed and creates nothing")
    func reconsumption() async throws {
        try await WorkerHarness.with { harness in
            let correlationId = UUID().uuidString
            let first = try await harness.send("UpdatePayments", Self.seedInsert, correlationId: correlationId)
            #expect(first.headers.string(named: "replayed") == "false")
            // One process at a time opens a SQLite store.
            await WorkerHarness.stop(harness.worker)
            let second = try await WorkerHarness.startWorker(bootstrap: harness.bootstrap, store: harness.store, group: "second-group")
            do {
                let replies = try await harness.results.received.wait(for: "a second reply") { messages in
                    messages.filter { $0.headers.string(named: "correlation-id") == correlationId }.count == 2
                }.filter { $0.headers.string(named: "correlation-id") == correlationId }
                #expect(replies.last?.headers.string(named: "replayed") == "true")
                #expect(replies.last?.body == first.body)
                #expect(replies.last?.headers.string(named: "idempotency-key") == first.headers.string(named: "idempotency-key"))
                let rows = try await harness.send("GetPayments", "fields=PaymentId")
                #expect(rows.body == "PaymentId\n1001\n", "nothing created twice")
            } catch {
                await WorkerHarness.stop(second)
                throw error
            }
            await WorkerHarness.stop(second)
        }
    }

    @Test("kill -9 in the middle of a 10 000-command stream, then a restart: every command answered, none applied twice")
    func crashMidStream() async throws {
        let harness = try await WorkerHarness.start()
        var restarted: ChildProcess?
        do {
            let total = 10_000
            let commands = WorkerHarness.paymentStream(count: total, prefix: "c")
            _ = try await harness.producer.sendAll(commands)
            try await harness.results.received.wait(forCount: total / 5, "replies before the crash", timeout: .seconds(120))
            harness.worker.signal(SIGKILL)
            #expect(try await harness.worker.waitForExit() == SIGKILL)

            restarted = try await WorkerHarness.startWorker(bootstrap: harness.bootstrap, store: harness.store)
            try await harness.results.received.wait(for: "a reply to every command", timeout: .seconds(180)) { messages in
                Set(messages.compactMap { $0.headers.string(named: "correlation-id") }.filter { $0.hasPrefix("c-") }).count == total
            }
            let replies = harness.results.received.items.filter { $0.headers.string(named: "correlation-id")?.hasPrefix("c-") == true }
            #expect(replies.allSatisfy { $0.status == "ok" })
            let rows = try await harness.send("GetPayments", "fields=PaymentImportedRef").body.split(separator: "\n").dropFirst()
            #expect(rows.count == total, "no payment twice, none missing")
            #expect(Set(rows) == Set((0..<total).map { "C-\($0)"[...] }))
        } catch {
            if let restarted { await WorkerHarness.stop(restarted) }
            await harness.stop()
            throw error
        }
        if let restarted { await WorkerHarness.stop(restarted) }
        await harness.stop()
    }

    @Test("accounts add prints a key once and stores its hash; the worker serves that account with it")
    func accountsAdd() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("payment-worker-accounts-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("accounts.json").path
        let add = try ChildProcess(TestBinaries.paymentWorker, [
            "accounts", "add", "--file", file, "--apiid", "acme", "--token", "--transaction-type", "9:Payment Cancellation"])
        #expect(try await add.waitForExit() == 0)
        let printed = Dictionary(uniqueKeysWithValues: add.standardOutput.split(separator: "\n").compactMap { line -> (String, String)? in
            let parts = line.split(separator: ":", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            return parts.count == 2 ? (parts[0], parts[1]) : nil
        })
        let apiKey = try #require(printed["apikey"])
        let token = try #require(printed["token"])
        let stored = try String(contentsOfFile: file, encoding: .utf8)
        #expect(!stored.contains(apiKey) && !stored.contains(token), "only hashes are stored")

        try await WorkerHarness.with(extraArguments: ["--accounts-file", file]) { harness in
            let credentials = ["apiid": "acme", "apikey": apiKey]
            let order = try await harness.send("UpdateOrders", "OrderRef\nACME-1\n", headers: credentials, key: "ACME-1")
            #expect(order.status == "ok")
            let insert = try await harness.send("UpdatePayments", "OrderRef,PaymentImportedRef,Amount\nACME-1,A1,10\n", headers: credentials, key: "ACME-1")
            #expect(insert.status == "ok")
            let cancel = try await harness.send(
                "CancelPayment", #"{"token":"\#(token)","payment_identifier":{"reference_number":"A1"},"type_identifier":{"id":"9"}}"#,
                headers: [:], key: "ACME-1")
            #expect(cancel.status == "ok")
            let wrong = try await harness.send("GetPayments", "", headers: ["apiid": "acme", "apikey": "12345"], key: "ACME-1")
            #expect(wrong.body.contains("\"code\":\"UNAUTHORIZED\""))
            #expect(!harness.worker.standardError.contains(apiKey), "the key is never logged")
        }
    }

    @Test("bad input gets an error reply and an error event, and changes nothing", arguments: [
        ("UpdatePayments", "OrderRef,Amount\nRef123,1\n", ["apiid": "123", "apikey": "nope"], "UNAUTHORIZED"),
        ("RefundEverything", "x", WorkerHarness.seedCredentials, "UNKNOWN_COMMAND"),
        ("UpdatePayments", "OrderRef,Colour\nRef123,red\n", WorkerHarness.seedCredentials, "MALFORMED"),
        ("UpdatePayments", "OrderRef,Amount\n\"Ref123,1\n", WorkerHarness.seedCredentials, "MALFORMED"),
        ("CancelPayment", "{\"token\": ", [:], "MALFORMED"),
        ("GetPayments", "where=Amount ** 3", WorkerHarness.seedCredentials, "INVALID_QUERY"),
    ])
    func badInput(command: String, body: String, headers: [String: String], code: String) async throws {
        try await WorkerHarness.with { harness in
            let correlationId = UUID().uuidString
            let reply = try await harness.send(command, body, headers: headers, correlationId: correlationId)
            #expect(reply.status == "error")
            #expect(reply.body.contains("\"code\":\"\(code)\""), "\(reply.body)")
            #expect(reply.headers.string(named: "error-code") == code, "a client routes on the code without parsing the body")
            let event = try await harness.errorEvent(for: correlationId)
            #expect(event["code"] as? String == code)
            #expect(reply.headers.string(named: "error-message") == event["message"] as? String)
            #expect(event["command"] as? String == command)
            #expect(event["apiid"] as? String == headers["apiid"], "the account's apiid, for filtering errors by account")
            #expect((event["source"] as? [String: Any])?["topic"] as? String == "payments.commands")
            #expect(!((event["message"] as? String) ?? "").contains("nope"), "no secret in the event")
            #expect(try await harness.send("GetPayments", "").body.isEmpty, "nothing changed")
        }
    }

    @Test("a poison message goes to the DLQ with an error event, and the partition goes on")
    func poison() async throws {
        try await WorkerHarness.with { harness in
            let poisonId = UUID().uuidString
            try await harness.sendRaw(nil, Array("OrderRef,Amount\nRef123,1\n".utf8), correlationId: poisonId)
            try await harness.sendRaw("UpdatePayments", [0xFF, 0xFE, 0x00], correlationId: UUID().uuidString)
            let after = try await harness.send("UpdatePayments", Self.seedInsert)
            #expect(after.status == "ok", "the partition went on")

            let poisonReply = try await harness.reply(to: poisonId)
            #expect(poisonReply.body.contains("\"code\":\"MALFORMED\""))
            let event = try await harness.errorEvent(for: poisonId)
            #expect(event["message"] as? String == "the message has no command header")
            let copies = try await harness.dlq.received.wait(forCount: 2, "DLQ copies")
            #expect(copies.map(\.body).contains("OrderRef,Amount\nRef123,1\n"), "the original, unchanged")
            #expect(copies.contains { $0.value == [0xFF, 0xFE, 0x00] })
            #expect(copies.first?.headers.string(named: "correlation-id") == poisonId)
        }
    }

    @Test("SIGTERM: the worker drains, commits and exits 0")
    func gracefulShutdown() async throws {
        try await WorkerHarness.with { harness in
            let reply = try await harness.send("UpdatePayments", Self.seedInsert)
            #expect(reply.status == "ok")
            harness.worker.signal(SIGTERM)
            #expect(try await harness.worker.waitForExit(timeout: .seconds(30)) == 0)
            #expect(harness.worker.standardError.contains("worker stopped"))

            // The group's committed offsets cover the command: nothing will be handled again.
            let checker = try TestConsumer(bootstrapServers: harness.bootstrap, group: "payment-worker", topics: ["payments.commands"])
            let partitions = (0..<4).map { KafkaTopicPartition(topic: "payments.commands", partition: Int32($0)) }
            let source = try #require(reply.headers.string(named: "source")?.split(separator: "/"))
            let committed = try await checker.consumer.committedOffsets(partitions)
            let partition = KafkaTopicPartition(topic: "payments.commands", partition: Int32(source[1]) ?? -1)
            #expect(committed[partition] == (Int64(source[2]) ?? -1) + 1)
            await checker.close()
        }
    }

    @Test("SIGTERM with the broker gone and replies unacknowledged: the worker gives up within its shutdown timeout and says so")
    func shutdownTimeout() async throws {
        try await WorkerHarness.with(extraArguments: ["--shutdown-timeout-seconds", "3"]) { harness in
            // The broker goes as soon as the worker's metrics show it handling the stream, long
            // before it can answer 20 000 commands (3 000 were all answered first once).
            let port = try await OperationsTests.operationsPort(of: harness.worker)
            _ = try await harness.producer.sendAll(WorkerHarness.paymentStream(count: 20_000, prefix: "t"))
            _ = try await eventually("the worker handling the stream") { () -> Bool? in
                let metrics = OperationsTests.samples(try await OperationsTests.get(port: port, path: "/metrics").body)
                return metrics.contains { $0.key.hasPrefix("payment_worker_commands_total") && $0.value > 0 } ? true : nil
            }
            harness.broker.signal(SIGKILL)
            _ = try await harness.broker.waitForExit(timeout: .seconds(10))
            harness.worker.signal(SIGTERM)
            // 3 s to drain, then a second to close the producer, and the consumer's own close.
            #expect(try await harness.worker.waitForExit(timeout: .seconds(30)) == 1)
            #expect(harness.worker.standardError.contains("shutdown timeout: abandoning batches in flight uncommitted"))
            #expect(harness.worker.standardError.contains("they were left uncommitted and will be delivered again"))
        }
    }
}
