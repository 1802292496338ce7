import Foundation
import Kafka
import StatusReport
import Testing

/// The status report every worker publishes on `payments.status` (docs/contract.md §9).
@Suite("Status reports", .timeLimit(.minutes(3)))
struct StatusReportTests {
    static func report(_ message: KafkaConsumerMessage) -> WorkerStatusReport? {
        try? WorkerStatusReport.decoder.decode(WorkerStatusReport.self, from: Data(message.value ?? []))
    }

    @Test("a worker reports every interval under its instance id (state, store, partitions, counts since start) and says when it stops")
    func reportsAndStops() async throws {
        try await WorkerHarness.with(extraArguments: ["--status-interval-seconds", "1"]) { harness in
            let status = try TestConsumer(bootstrapServers: harness.bootstrap, group: "status-\(UUID().uuidString)", topics: ["payments.status"])
            do {
                try await harness.send("UpdatePayments", "OrderRef,PaymentImportedRef,Amount\nRef123,STATUS-1,1.00\n")
                try await harness.send("UpdatePayments", "OrderRef,PaymentImportedRef,Amount,Colour\nRef123,STATUS-2,1.00,red\n")
                let ready = try await status.received.first("a ready report counting both commands", timeout: .seconds(60)) { message in
                    guard let report = Self.report(message) else { return false }
                    return report.state == .ready && report.counters.commands["UpdatePayments"] == ["ok": 1, "error": 1]
                }
                let report = try #require(Self.report(ready))
                #expect(ready.key.map { String(decoding: $0, as: UTF8.self) } == report.instanceId)
                #expect(report.schemaVersion == 1 && report.pid > 0 && !report.host.isEmpty && !report.final)
                #expect(report.store == WorkerStatusReport.Store(kind: "sqlite", healthy: true))
                #expect(report.counters.errorEvents == ["MALFORMED": 1] && report.counters.dlqCopies == 0)
                #expect(report.partitions.count == 4 && report.partitions.allSatisfy { $0.topic == "payments.commands" && !$0.paused })
                #expect(report.partitions.contains { $0.committed != nil }, "the partition the commands went to has an offset stored")
                #expect(report.cpuSeconds > 0 && report.residentBytes > 1 << 20)

                harness.worker.signal(SIGTERM)
                #expect(try await harness.worker.waitForExit(timeout: .seconds(30)) == 0)
                let last = try await status.received.first("the last report", timeout: .seconds(30)) { Self.report($0)?.final == true }
                #expect(Self.report(last)?.state == .stopping && Self.report(last)?.instanceId == report.instanceId)
            } catch {
                await status.close()
                throw error
            }
            await status.close()
        }
    }
}
