@testable import Kafka
import Testing

@Suite("Delivery tracker")
struct DeliveryTrackerTests {
    @Test("a sender that found the queue full waits only if no report came since")
    func capacityWaiting() async {
        let tracker = DeliveryTracker()
        // No report since 0: the sender must wait, and close releases it.
        async let released: Void = tracker.waitForCapacity(after: 0)
        tracker.failAll(with: KafkaError(code: .closed, message: "closed"))
        await released
        // A closed tracker never makes anyone wait.
        await tracker.waitForCapacity(after: 0)
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
