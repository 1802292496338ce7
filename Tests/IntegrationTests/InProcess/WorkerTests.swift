import CRDKafka
import Foundation
@testable import Kafka
import Logging
import PaymentStores
import PaymentsDomain
import Synchronization
import Testing
import UpdatePaymentsPlugin
@testable import WorkerRuntime

/// The worker run in-process on a command source and a producer of the test's own, and a
/// real SQLite file: its ordering, offset and publishing rules without a broker.
@Suite("Worker, in-process")
struct WorkerTests {
    @Test("replies keep each partition's order, and a partition's offset moves only once every reply before it is acknowledged, in order")
    func offsetsFollowAcknowledgements() async throws {
        let producer = TestProducer()
        producer.holdAcknowledgements(of: "p0-0")
        try await WorkerUnderTest.run(producer: producer) { source in
            source.feed([command(partition: 0, offset: 0), command(partition: 0, offset: 1)])
            source.feed([command(partition: 0, offset: 2), command(partition: 0, offset: 3)])
            source.feed([command(partition: 1, offset: 0), command(partition: 1, offset: 1)])

            try await until("partition 1 done") { source.stored(1) == [2] }
            try await until("partition 0's second batch published") { producer.replies(partition: 0).count == 4 }
            #expect(source.stored(0).isEmpty, "nothing of partition 0 is done while its first replies wait")

            producer.releaseAcknowledgements()
            try await until("partition 0 done") { source.stored(0).last == 4 }
            #expect(source.stored(0) == [2, 4], "in order, batch after batch")
            #expect(producer.replies(partition: 0) == ["p0-0", "p0-1", "p0-2", "p0-3"])
            #expect(producer.replies(partition: 1) == ["p1-0", "p1-1"])
        }
    }

    @Test("a delivery that fails for a passing reason is published again; a reply Kafka refuses for good becomes the error event and the DLQ copy; the partition goes on")
    func failedDeliveries() async throws {
        let producer = TestProducer()
        producer.failOnce("p0-0")
        producer.refuse("p0-1")
        try await WorkerUnderTest.run(producer: producer) { source in
            source.feed([command(partition: 0, offset: 0), command(partition: 0, offset: 1), command(partition: 0, offset: 2)])
            try await until("partition 0 done") { source.stored(0).last == 3 }
            #expect(producer.replies(partition: 0) == ["p0-0", "p0-1", "p0-2", "p0-0"], "p0-0 again after its failure")
            let errorEvents = producer.delivered(topic: "payments.errors")
            #expect(errorEvents.count == 1 && errorEvents[0].contains("\"code\":\"TOO_LARGE\""), "\(errorEvents)")
            let copies = producer.deliveredMessages(topic: "payments.dlq")
            #expect(copies.map { $0.headers.string(named: "correlation-id") } == ["p0-1"], "the refused reply's command, unchanged")
        }
    }

    private func command(partition: Int32, offset: Int64) -> KafkaConsumerMessage {
        KafkaConsumerMessage(
            topic: "payments.commands", partition: partition, offset: offset, key: Array("Ref123".utf8),
            value: Array("OrderRef,PaymentImportedRef,Amount\nRef123,W\(partition)-\(offset),1\n".utf8),
            headers: [KafkaHeader(name: "command", string: "UpdatePayments"), KafkaHeader(name: "apiid", string: "123"),
                      KafkaHeader(name: "apikey", string: "12345"), KafkaHeader(name: "correlation-id", string: "p\(partition)-\(offset)")])
    }
}
