import Testing
@testable import WorkerRuntime

@Suite("In-flight work")
struct InFlightWorkTests {
    @Test("abandoning with nothing in flight gives nothing up: a finished drain is not a timeout")
    func abandonWhenIdle() {
        let work = InFlightWork()
        work.begin()
        work.end()
        #expect(work.abandon() == 0)
        #expect(!work.isAbandoned)
    }

    @Test("abandoning with batches in flight gives them up and wakes whoever waits for the drain")
    func abandonWakesWaiters() async {
        let work = InFlightWork()
        work.begin()
        work.begin()
        async let drained: Void = work.waitUntilIdle()
        // The waiter may register before or after the abandon; either way it returns.
        #expect(work.abandon() == 2)
        #expect(work.isAbandoned)
        await drained
    }
}
