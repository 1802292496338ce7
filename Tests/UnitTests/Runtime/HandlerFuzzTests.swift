import CancelPaymentPlugin
import DeletePaymentsPlugin
import Foundation
import GetPaymentsPlugin
import Kafka
import Logging
import PaymentStores
import PaymentsDomain
import PropertyBased
import Synchronization
import Testing
import UpdateOrdersPlugin
import UpdatePaymentsPlugin
@testable import WorkerRuntime

/// Random and mutated commands through the real handler and a real SQLite file: every input
/// gets its answer by the rules of docs/contract.md §5, none is INTERNAL, nothing crashes. Bounded
/// here; `PAYMENT_WORKER_FUZZ_COUNT=100000 swift test --filter HandlerFuzzTests` runs longer.
@Suite("Handler fuzz")
struct HandlerFuzzTests {
    static let count = ProcessInfo.processInfo.environment["PAYMENT_WORKER_FUZZ_COUNT"].flatMap { Int($0) } ?? 2_000

    static let seeds: [(command: String, body: String)] = [
        ("UpdatePayments", "OrderRef,PaymentImportedRef,Amount,Date,Comments\nRef123,F1,1.25,2013-09-16 1:00:00,\"a, \"\"b\"\"\"\nRef123,F2,3,,\n"),
        ("UpdateOrders", "OrderRef\nRef900\nRef901\n"),
        ("GetPayments", "fields=PaymentId,Amount&where=Amount%3E1%20AND%20(OrderRef%3D'Ref123'%20OR%20PaymentImportedRef%20LIKE%20'F%25')&orderby=Amount%20DESC"),
        ("DeletePayments", "where=PaymentImportedRef%20IN%20('F1','F9')"),
        ("CancelPayment", #"{"token":"B8D7A12E9F91AFADE914B7330AFD08CB","payment_identifier":{"reference_number":"F2"},"type_identifier":{"name":"Payment Cancellation"},"udf_float_1":1.5e2,"notes":"\u00e9"}"#),
        ("Bogus", "x"),
    ]

    /// Bytes that matter to one of the languages read: CSV, the URL query, where, JSON, UTF-8.
    static let interesting: [UInt8] = Array(",\"\n\r'%=&+()\\{}[]:-.0 9aZ".utf8) + [0x00, 0xC3, 0xA9, 0xFF, 0xE2]

    struct Mutation: Sendable {
        let position: Int
        let kind: Int
        let byte: UInt8
    }

    static func mutate(_ body: [UInt8], _ mutations: [Mutation]) -> [UInt8] {
        var bytes = body
        for mutation in mutations {
            let index = bytes.isEmpty ? 0 : mutation.position % (bytes.count + 1)
            switch mutation.kind {
            case 0: bytes.insert(mutation.byte, at: index)
            case 1 where index < bytes.count: bytes.remove(at: index)
            case 2 where index < bytes.count: bytes[index] = mutation.byte
            case 3 where index < bytes.count: bytes.insert(contentsOf: bytes[index...].prefix(16), at: index)
            default: bytes.append(mutation.byte)
            }
        }
        return bytes
    }

    @Test("random and mutated commands: one reply (or a DLQ copy and an error event), an error event for every error, never INTERNAL")
    func everyInputAnswered() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let store = try SQLitePaymentStore(path: folder.appendingPathComponent("payments.sqlite").path)
        try await store.provision(order: AccountDirectory.seedOrder, account: "123")
        var configuration = WorkerConfiguration(kafka: KafkaConfiguration(bootstrapServers: []))
        configuration.retry.initialBackoff = .milliseconds(1)
        var quiet = Logger(label: "fuzz")
        quiet.logLevel = .critical
        let handler = CommandHandler(
            registry: PluginRegistry([UpdateOrdersPlugin(), UpdatePaymentsPlugin(), GetPaymentsPlugin(), DeletePaymentsPlugin(), CancelPaymentPlugin()]),
            accounts: AccountDirectory([AccountDirectory.seedAccount]), store: store, configuration: configuration,
            metrics: WorkerMetrics(), logger: quiet,
            outage: StoreOutage(retry: RetryPolicy(initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(5)), probe: {}, changed: { _ in }),
            clusterID: "fuzz")
        let mutation = zip(Gen.int(in: 0...100_000), Gen.int(in: 0...4), Gen.int(in: 0...(Self.interesting.count - 1)))
            .map { Mutation(position: $0, kind: $1, byte: Self.interesting[$2]) }
        let headerVariant = Gen.int(in: 0...9)
        let input = zip(Gen.int(in: 0...(Self.seeds.count - 1)), mutation.array(of: 0...6), headerVariant)
        let offset = OffsetCounter()
        await propertyCheck(count: Self.count, input: input) { seedIndex, mutations, variant in
            let seed = Self.seeds[seedIndex]
            let body = Self.mutate(Array(seed.body.utf8), mutations)
            var headers = [KafkaHeader(name: "correlation-id", string: "fuzz-\(offset.value)")]
            switch variant {
            case 0: break // no command header: poison
            case 1: headers.append(KafkaHeader(name: "command", string: seed.command + "\u{0}"))
            case 2: headers += [KafkaHeader(name: "command", string: seed.command), KafkaHeader(name: "apiid", string: "123"),
                                KafkaHeader(name: "apikey", string: "wrong")]
            case 3: headers += [KafkaHeader(name: "command", string: seed.command), KafkaHeader(name: "apiid", string: "123"),
                                KafkaHeader(name: "apikey", string: "12345"), KafkaHeader(name: "idempotency-key", string: String(repeating: "k", count: 300))]
            default: headers += [KafkaHeader(name: "command", string: seed.command), KafkaHeader(name: "apiid", string: "123"),
                                 KafkaHeader(name: "apikey", string: "12345")]
            }
            let message = KafkaConsumerMessage(topic: "payments.commands", partition: 0, offset: offset.next(),
                                               key: Array("Ref123".utf8), value: body, headers: headers)
            let outgoing = try #require(await handler.handle([message]), "the store never went away")
            let replies = outgoing.filter { $0.topic == configuration.topics.results }
            let events = outgoing.filter { $0.topic == configuration.topics.errors }
            let copies = outgoing.filter { $0.topic == configuration.topics.dlq }
            if copies.isEmpty {
                #expect(replies.count == 1, "one reply: \(String(decoding: body.prefix(80), as: UTF8.self))")
                let errors = replies.filter { $0.headers.string(named: "status") == "error" }.count
                #expect(events.count == errors, "an error event for every error reply")
            } else {
                #expect(copies.count == 1 && events.count == 1, "poison: a DLQ copy and its error event")
                #expect(copies.first?.value == body, "the original, unchanged")
            }
            for produced in replies + events {
                let text = String(decoding: produced.value ?? [], as: UTF8.self)
                #expect(!text.contains("\"INTERNAL\""), "never INTERNAL: \(text.prefix(300))")
            }
        }
        try await store.close()
    }
}

/// Offsets for the messages a property check makes, one after another.
final class OffsetCounter: Sendable {
    private let state = Mutex(Int64(0))
    var value: Int64 { state.withLock { $0 } }

    func next() -> Int64 {
        state.withLock { offset in
            defer { offset += 1 }
            return offset
        }
    }
}
