import Foundation
import Kafka
import Testing

/// Starting, stopping and starting again (docs/contract.md §3, §5).
@Suite("Lifecycle", .serialized, .timeLimit(.minutes(4)))
struct LifecycleTests {
    @Test("the embedded default stopped and started again on the same store applies new commands (default keys carry the cluster id)")
    func embeddedDefaultRestarted() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("restart-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = "sqlite:\(folder.path)/payments.sqlite"
        var keys: [String] = []
        for round in 1...2 {
            let worker = try ChildProcess(TestBinaries.paymentWorker, ["run", "--store", store, "--http-port", "0"])
            do {
                let bootstrap = try await worker.firstLine()
                try await worker.waitForStandardError(containing: "partitions assigned")
                let results = try TestConsumer(bootstrapServers: bootstrap, group: "restart-\(round)", topics: ["payments.results"])
                let producer = try makeProducer(bootstrapServers: bootstrap)
                // A new body each round, and no idempotency key: the default one is used.
                try await producer.send(KafkaProducerMessage(
                    topic: "payments.commands", partition: 0, key: Array("Ref123".utf8),
                    value: Array("OrderRef,PaymentImportedRef,Amount\nRef123,RESTART-\(round),1\n".utf8),
                    headers: [KafkaHeader(name: "command", string: "UpdatePayments"), KafkaHeader(name: "apiid", string: "123"),
                              KafkaHeader(name: "apikey", string: "12345"), KafkaHeader(name: "correlation-id", string: "restart-\(round)")]))
                let replies = try await results.received.wait(for: "the reply") { $0.contains { $0.headers.string(named: "correlation-id") == "restart-\(round)" } }
                let reply = try #require(replies.first { $0.headers.string(named: "correlation-id") == "restart-\(round)" })
                #expect(reply.status == "ok", "round \(round): \(reply.body)")
                let key = try #require(reply.headers.string(named: "idempotency-key"))
                #expect(key.hasSuffix("/payments.commands/0/0"), "the same position both rounds: \(key)")
                keys.append(key)
                await results.close()
                await producer.close()
            } catch {
                worker.kill9IfRunning()
                throw error
            }
            worker.signal(SIGTERM)
            #expect(try await worker.waitForExit(timeout: .seconds(40)) == 0)
        }
        #expect(keys.count == 2 && keys[0] != keys[1], "each dev broker is a cluster of its own: \(keys)")
    }

    @Test("oversized headers are MALFORMED, and nothing oversized is echoed on the reply or the error event")
    func headerLimits() async throws {
        try await WorkerHarness.with { harness in
            let longId = String(repeating: "c", count: 300)
            try await harness.producer.send(KafkaProducerMessage(
                topic: "payments.commands", key: Array("Ref123".utf8), value: Array("fields=PaymentId".utf8),
                headers: [KafkaHeader(name: "command", string: "GetPayments"), KafkaHeader(name: "apiid", string: "123"),
                          KafkaHeader(name: "apikey", string: "12345"), KafkaHeader(name: "idempotency-key", string: "long-correlation"),
                          KafkaHeader(name: "correlation-id", string: longId)]))
            let byKey = try await harness.results.received.wait(for: "the reply") { $0.contains { $0.headers.string(named: "idempotency-key") == "long-correlation" } }
            let reply = try #require(byKey.first { $0.headers.string(named: "idempotency-key") == "long-correlation" })
            #expect(reply.status == "error" && reply.body.contains("\"code\":\"MALFORMED\"") && reply.body.contains("correlation-id"), "\(reply.body)")
            #expect(reply.headers.string(named: "correlation-id") == nil)

            let report = try await harness.producer.send(KafkaProducerMessage(
                topic: "payments.commands", key: Array("Ref123".utf8), value: Array("fields=PaymentId".utf8),
                headers: [KafkaHeader(name: "command", string: "GetPayments"), KafkaHeader(name: "apiid", string: "123"),
                          KafkaHeader(name: "apikey", string: "12345"), KafkaHeader(name: "x-padding", string: String(repeating: "p", count: 17_000)),
                          KafkaHeader(name: "correlation-id", string: "big-headers")]))
            let source = "payments.commands/\(report.partition)/\(report.offset)"
            let bySource = try await harness.results.received.wait(for: "the reply") { $0.contains { $0.headers.string(named: "source") == source } }
            let second = try #require(bySource.first { $0.headers.string(named: "source") == source })
            #expect(second.status == "error" && second.body.contains("\"code\":\"MALFORMED\""), "\(second.body)")
            #expect(second.headers.string(named: "correlation-id") == nil, "not echoed: the header set was over its limit")
            let events = try await harness.errors.received.wait(forCount: 2, "both error events")
            #expect(events.allSatisfy { ($0.value?.count ?? 0) < 2_000 }, "no oversized value in an error event")
        }
    }

    @Test("the SQLite store keeps WAL's index in memory, never in a mapped -shm file, whose fault would be a SIGBUS")
    func noMappedSharedMemoryFile() async throws {
        try await WorkerHarness.with { harness in
            let reply = try await harness.send("UpdatePayments", "OrderRef,PaymentImportedRef,Amount\nRef123,SHM-1,1\n")
            #expect(reply.status == "ok")
            let path = String(harness.store.dropFirst("sqlite:".count))
            #expect(FileManager.default.fileExists(atPath: "\(path)-wal"), "in WAL mode")
            #expect(!FileManager.default.fileExists(atPath: "\(path)-shm"), "no -shm file to map")
        }
    }

    @Test("a second worker on a SQLite store in use stops at start-up naming the store, and never joins the group")
    func sqliteStoreInUse() async throws {
        try await WorkerHarness.with { harness in
            let second = try ChildProcess(TestBinaries.paymentWorker, [
                "run", "--bootstrap-servers", harness.bootstrap, "--dev", "--store", harness.store, "--http-port", "0",
            ])
            #expect(try await second.waitForExit(timeout: .seconds(30)) == 1)
            #expect(second.standardError.contains("the store \(harness.store)") && second.standardError.contains("locked"),
                    "\(second.standardError)")
            #expect(!second.standardError.contains("partitions assigned"))
            #expect(try await harness.send("GetPayments", "fields=PaymentId").status == "ok", "the first worker goes on")
        }
    }

    @Test("a second worker whose operations port is taken exits at once with one line naming the port, and never joins the group")
    func portInUse() async throws {
        try await WorkerHarness.with { harness in
            let port = try await OperationsTests.operationsPort(of: harness.worker)
            let second = try ChildProcess(TestBinaries.paymentWorker, [
                "run", "--bootstrap-servers", harness.bootstrap, "--dev", "--store", harness.store, "--http-port", "\(port)",
            ])
            #expect(try await second.waitForExit(timeout: .seconds(30)) != 0)
            #expect(second.standardError.contains("cannot listen on 0.0.0.0:\(port)") && second.standardError.contains("--http-port"),
                    "\(second.standardError)")
            #expect(!second.standardError.contains("partitions assigned"))
            #expect(try await harness.send("GetPayments", "fields=PaymentId").status == "ok")
            #expect(!harness.worker.standardError.contains("partitions revoked"), "the group was not touched")
        }
    }
}
