import Kafka
import Testing
@testable import WorkerRuntime

@Suite("In-flight work")
struct InFlightWorkTests {
    private let partition = KafkaTopicPartition(topic: "payments.commands", partition: 2)

    @Test("abandoning with nothing in flight gives nothing up: a finished drain is not a timeout")
    func abandonWhenIdle() {
        let work = InFlightWork()
        work.end(work.begin(partition, from: 0))
        #expect(work.abandon() == 0)
        #expect(!work.isAbandoned)
    }

    @Test("abandoning with batches in flight gives them up and wakes whoever waits for the drain")
    func abandonWakesWaiters() async {
        let work = InFlightWork()
        _ = work.begin(partition, from: 0)
        _ = work.begin(partition, from: 10)
        async let drained: Void = work.waitUntilIdle()
        // The waiter may register before or after the abandon; either way it returns.
        #expect(work.abandon() == 2)
        #expect(work.isAbandoned)
        await drained
    }

    @Test("stalled: the oldest batch and what it waits for, once nothing was done for longer than the window; idle time never counts")
    func stalled() {
        let work = InFlightWork()
        let start = ContinuousClock.now
        #expect(work.stalled(longerThan: .seconds(60), now: start + .seconds(600)) == nil, "idle is not stalled")
        let first = work.begin(partition, from: 40, now: start)
        let second = work.begin(partition, from: 90, now: start + .seconds(1))
        work.stage(first, "awaiting the broker's acknowledgements")
        #expect(work.stalled(longerThan: .seconds(60), now: start + .seconds(59)) == nil)
        let stuck = work.stalled(longerThan: .seconds(60), now: start + .seconds(61))
        #expect(stuck?.batch == InFlightWork.Batch(partition: partition, offset: 40, stage: "awaiting the broker's acknowledgements"))
        work.end(first, now: start + .seconds(62))
        #expect(work.stalled(longerThan: .seconds(60), now: start + .seconds(100)) == nil, "progress restarts the window")
        #expect(work.stalled(longerThan: .seconds(60), now: start + .seconds(123))?.batch.offset == 90)
        work.end(second)
    }
}
