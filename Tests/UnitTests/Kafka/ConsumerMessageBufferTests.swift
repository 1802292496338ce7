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
        #expect(buffer.push([message(0, 0)], waitingAtMost: .zero) == .accepted)
        #expect(buffer.push([message(0, 1), message(0, 2)], waitingAtMost: .zero) == .accepted)
        #expect(await buffer.next()?.map(\.offset) == [0])
        #expect(await buffer.next()?.map(\.offset) == [1, 2])

        async let waiting = buffer.next()
        // The owner is suspended now or soon; either way the push reaches it.
        #expect(buffer.push([message(1, 7)], waitingAtMost: .zero) == .accepted)
        #expect(await waiting?.map(\.offset) == [7])
    }

    @Test("a full buffer turns a batch away after the wait, and takes it once the owner catches up")
    func backpressure() async {
        let buffer = ConsumerMessageBuffer(capacity: 1)
        #expect(buffer.push([message(0, 0)], waitingAtMost: .zero) == .accepted)
        #expect(buffer.push([message(0, 1)], waitingAtMost: .milliseconds(20)) == .full)
        #expect(await buffer.next()?.map(\.offset) == [0])
        #expect(buffer.push([message(0, 1)], waitingAtMost: .zero) == .accepted)
        #expect(await buffer.next()?.map(\.offset) == [1])
    }

    @Test("under a steady backlog (never empty) the buffer lets go of each batch it hands over")
    func handedOverBatchesAreReleased() async {
        let buffer = ConsumerMessageBuffer(capacity: 2)
        #expect(buffer.push([message(0, 0)], waitingAtMost: .zero) == .accepted)
        for offset in Int64(1)...200 {
            #expect(buffer.push([message(0, offset)], waitingAtMost: .zero) == .accepted)
            #expect(await buffer.next()?.map(\.offset) == [offset - 1])
            #expect(buffer.retainedBatches <= 2, "after \(offset) batches")
        }
        #expect(await buffer.next()?.map(\.offset) == [200])
        #expect(buffer.retainedBatches == 0)
    }

    @Test("revoked partitions' buffered messages are dropped, the others kept in order")
    func discardRevoked() async {
        let buffer = ConsumerMessageBuffer(capacity: 3)
        #expect(buffer.push([message(0, 0), message(1, 0)], waitingAtMost: .zero) == .accepted)
        #expect(buffer.push([message(1, 1)], waitingAtMost: .zero) == .accepted)
        #expect(buffer.push([message(0, 1)], waitingAtMost: .zero) == .accepted)
        buffer.discard([KafkaTopicPartition(topic: "t", partition: 1)])
        #expect(await buffer.next()?.map(\.topicPartition.description) == ["t/0"])
        #expect(await buffer.next()?.map(\.offset) == [1])
        // The wholly discarded batch gave its place back: two more fit without blocking.
        #expect(buffer.push([message(0, 2)], waitingAtMost: .zero) == .accepted)
        #expect(buffer.push([message(0, 3)], waitingAtMost: .zero) == .accepted)
        #expect(buffer.push([message(0, 4)], waitingAtMost: .zero) == .accepted)
        #expect(buffer.push([message(0, 5)], waitingAtMost: .zero) == .full)
    }

    @Test("after finish the owner gets nil and pushes are dropped")
    func finish() async {
        let buffer = ConsumerMessageBuffer(capacity: 2)
        async let waiting = buffer.next()
        buffer.finish()
        #expect(await waiting == nil)
        #expect(buffer.push([message(0, 0)], waitingAtMost: .zero) == .finished)
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
