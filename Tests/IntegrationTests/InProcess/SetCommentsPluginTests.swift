import Foundation
@testable import Kafka
import PaymentStores
import PaymentsDomain
import Testing
@testable import WorkerRuntime

/// A sixth command, written only against the domain and the plugin protocol (the plugin
/// guide's example in Tests/plugins/SetComments), registered by its name in Package.swift's
/// `examplePluginNames`, and run by the real runtime on both stores.
@Suite("A plugin outside the five", .timeLimit(.minutes(2)))
struct SetCommentsPluginTests {
    @Test("its one-word registration puts it in the generated plugin list, with the worker's five, reachable as it declares")
    func registeredByItsName() {
        let registry = PluginRegistry(CommandPlugins.all)
        #expect(registry.commands == ["CancelPayment", "DeletePayments", "GetPayments", "SetComments", "UpdateOrders", "UpdatePayments"])
        #expect(registry.httpBindings["SetComments"] == .cin7(reads: false))
        #expect(!registry.chunkedImportCommands.contains("SetComments"))
    }

    @Test("SetComments runs through the worker: applied once per key, replayed on redelivery, refused with nothing changed, seen by a later read", arguments: StoreKind.allCases)
    func runsThroughTheRuntime(kind: StoreKind) async throws {
        let harness = try await StoreHarness.make(kind)
        let producer = TestProducer()
        let registry = PluginRegistry(CommandPlugins.all)
        do {
            try await WorkerUnderTest.run(store: harness.store, registry: registry, producer: producer) { source in
                source.feed([
                    command(0, "UpdatePayments", "OrderRef,PaymentImportedRef,Amount\nRef123,R1,10\n"),
                    command(1, "SetComments", "PaymentImportedRef=R1&Comments=paid%20late", key: "comment-1"),
                    command(2, "SetComments", "PaymentImportedRef=R1&Comments=paid%20late", key: "comment-1"),
                    command(3, "SetComments", "PaymentImportedRef=NoSuch&Comments=x"),
                    command(4, "GetPayments", "fields=PaymentImportedRef,Comments&where=PaymentImportedRef%3D'R1'"),
                ])
                try await until("every command answered") { producer.deliveredMessages(topic: "payments.results").count == 5 }
            }
        } catch {
            await harness.close()
            throw error
        }
        await harness.close()
        let replies = producer.deliveredMessages(topic: "payments.results")
        let bodies = replies.map { String(decoding: $0.value ?? [], as: UTF8.self) }
        let statuses = replies.map { $0.headers.string(named: "status") }
        let replayed = replies.map { $0.headers.string(named: "replayed") }
        let id = try #require(bodies[0].split(separator: "\n").dropFirst().first?.split(separator: ",", omittingEmptySubsequences: false).dropFirst().first)
        #expect(statuses == ["ok", "ok", "ok", "error", "ok"])
        #expect(bodies[1] == "PaymentId,Comments\n\(id),paid late\n")
        #expect(bodies[2] == bodies[1] && replayed[2] == "true" && replayed[1] == "false", "the redelivery is answered from the record")
        #expect(bodies[3].contains("NOT_FOUND") && bodies[3].contains("NoSuch"))
        #expect(bodies[4] == "PaymentImportedRef,Comments\nR1,paid late\n")
        let errors = producer.delivered(topic: "payments.errors")
        #expect(errors.count == 1 && errors[0].contains("NOT_FOUND"), "\(errors)")
    }

    @Test("docs/plugins.md's example is this test's plugin, word for word")
    func documentationShowsThePlugin() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let guide = try String(contentsOf: root.appendingPathComponent("docs/plugins.md"), encoding: .utf8)
        let plugin = try String(contentsOf: root.appendingPathComponent("Tests/plugins/SetComments/SetCommentsPlugin.swift"), encoding: .utf8)
        #expect(guide.contains("```swift\n" + plugin + "```\n"), "docs/plugins.md's example must be Tests/plugins/SetComments/SetCommentsPlugin.swift")
    }

    private func command(_ offset: Int64, _ name: String, _ body: String, key: String? = nil) -> KafkaConsumerMessage {
        var headers = [KafkaHeader(name: "command", string: name), KafkaHeader(name: "apiid", string: "123"),
                       KafkaHeader(name: "apikey", string: "12345"), KafkaHeader(name: "correlation-id", string: "c\(offset)")]
        if let key { headers.append(KafkaHeader(name: "idempotency-key", string: key)) }
        return KafkaConsumerMessage(topic: "payments.commands", partition: 0, offset: offset, key: Array("R1".utf8),
                                    value: Array(body.utf8), headers: headers)
    }
}
