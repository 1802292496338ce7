@testable import Kafka
import Testing

@Suite("Consumer hand-off buffer")
struct ConsumerMessageBufferTests {
    private func message(_ partition: Int32, _ offset: Int64) -> KafkaConsumerMessage {
        KafkaConsumerMessage(topic: "t", partition: partition, offset: offset, value: [])
    }

    @Test("batches wait in order until the owner asks, then the owner waits for the next")
    func ordering() async {
        let buffer = ConsumerMessageBuffer(capacity: 4)
        #expect(buffer.pushBlocking([message(0, 0)], shouldStop: { false }))
        #expect(buffer.pushBlocking([message(0, 1), message(0, 2)], shouldStop: { false }))
        #expect(await buffer.next()?.map(\.offset) == [0])
        #expect(await buffer.next()?.map(\.offset) == [1, 2])

        async let waiting = buffer.next()
        // The owner is suspended now or soon; either way the push reaches it.
        #expect(buffer.pushBlocking([message(1, 7)], shouldStop: { false }))
        #expect(await waiting?.map(\.offset) == [7])
    }

    @Test("a full buffer holds the poll thread back until told to stop, and drops that batch")
    func backpressure() {
        let buffer = ConsumerMessageBuffer(capacity: 1)
        #expect(buffer.pushBlocking([message(0, 0)], shouldStop: { false }))
        var checks = 0
        let accepted = buffer.pushBlocking([message(0, 1)], shouldStop: {
            checks += 1
            return checks >= 2
        })
        #expect(!accepted)
        #expect(checks == 2)
    }

    @Test("revoked partitions' buffered messages are dropped, the others kept in order")
    func discardRevoked() async {
        let buffer = ConsumerMessageBuffer(capacity: 3)
        #expect(buffer.pushBlocking([message(0, 0), message(1, 0)], shouldStop: { false }))
        #expect(buffer.pushBlocking([message(1, 1)], shouldStop: { false }))
        #expect(buffer.pushBlocking([message(0, 1)], shouldStop: { false }))
        buffer.discard([KafkaTopicPartition(topic: "t", partition: 1)])
        #expect(await buffer.next()?.map(\.topicPartition.description) == ["t/0"])
        #expect(await buffer.next()?.map(\.offset) == [1])
        // The wholly discarded batch gave its place back: two more fit without blocking.
        #expect(buffer.pushBlocking([message(0, 2)], shouldStop: { false }))
        #expect(buffer.pushBlocking([message(0, 3)], shouldStop: { false }))
        #expect(buffer.pushBlocking([message(0, 4)], shouldStop: { false }))
        #expect(!buffer.pushBlocking([message(0, 5)], shouldStop: { true }))
    }

    @Test("after finish the owner gets nil and pushes are dropped")
    func finish() async {
        let buffer = ConsumerMessageBuffer(capacity: 2)
        async let waiting = buffer.next()
        buffer.finish()
        #expect(await waiting == nil)
        #expect(!buffer.pushBlocking([message(0, 0)], shouldStop: { false }))
        #expect(await buffer.next() == nil)
    }

    @Test("a cancelled owner stops waiting")
    func cancellation() async {
        let buffer = ConsumerMessageBuffer(capacity: 2)
        let task = Task { await buffer.next() }
        task.cancel()
        #expect(await task.value == nil)
    }
}
