@testable import Kafka
import Testing

@Suite("Delivery tracker", .timeLimit(.minutes(1)))
struct DeliveryTrackerTests {
    /// A waiter the state machine should hand back and does not is never resumed: the test
    /// then hangs and fails at the suite's time limit.
    @Test("a sender that found the queue full waits only if no report came since; the next report, or closing, hands it back to be woken")
    func capacityWaiting() async {
        var machine = DeliveryTracker.StateMachine()
        guard case .send(let id, let seen) = machine.register({ _ in }) else {
            Issue.record("a new tracker refused a send")
            return
        }
        await withCheckedContinuation { waiter in
            let waits = machine.waitForCapacity(after: seen, waiter)
            #expect(waits, "no report since the queue was full: wait")
            let action = machine.reported(id)
            #expect(action.continuation != nil, "the report is the send's")
            #expect(action.capacityWaiters.count == 1, "the report hands the waiter back")
            for waiting in action.capacityWaiters { waiting.resume() }
        }
        await withCheckedContinuation { waiter in
            let waits = machine.waitForCapacity(after: seen, waiter)
            #expect(!waits, "a report came since: no wait")
            waiter.resume()
        }
        await withCheckedContinuation { waiter in
            let waits = machine.waitForCapacity(after: machine.reportsSeen, waiter)
            #expect(waits)
            let closed = machine.close()
            #expect(closed.capacityWaiters.count == 1, "closing hands the waiter back")
            for waiting in closed.capacityWaiters { waiting.resume() }
        }
        await withCheckedContinuation { waiter in
            let waits = machine.waitForCapacity(after: machine.reportsSeen, waiter)
            #expect(!waits, "a closed tracker never makes anyone wait")
            waiter.resume()
        }
    }

    @Test("a closed tracker refuses new sends and fails those in flight")
    func closing() async {
        let tracker = DeliveryTracker()
        let error = await #expect(throws: KafkaError.self) {
            try await withCheckedThrowingContinuation { continuation in
                guard case .send = tracker.register({ continuation.resume(with: $0) }) else {
                    continuation.resume(throwing: KafkaError(code: .produce, message: "not registered"))
                    return
                }
                #expect(tracker.inFlight == 1)
                tracker.failAll(with: KafkaError(code: .closed, message: "closed"))
            } as KafkaDeliveryReport
        }
        #expect(error?.code == .closed)
        #expect(tracker.inFlight == 0)
        let refused = await #expect(throws: KafkaError.self) {
            try await withCheckedThrowingContinuation { continuation in
                if case .failClosed = tracker.register({ continuation.resume(with: $0) }) {
                    continuation.resume(throwing: KafkaError(code: .closed, message: "refused"))
                }
            } as KafkaDeliveryReport
        }
        #expect(refused?.message == "refused")
    }
}
