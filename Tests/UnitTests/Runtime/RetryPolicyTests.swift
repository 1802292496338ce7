import Synchronization
import Testing
@testable import WorkerRuntime

@Suite("Retry policy")
struct RetryPolicyTests {
    private let policy = RetryPolicy(initialBackoff: .milliseconds(1), maxBackoff: .milliseconds(2))

    @Test("a failed try counts an attempt, a try again at once does not, and the first done value is returned")
    func countsAttempts() async {
        var attempts: [Int] = []
        let outcomes: [RetryPolicy.Try<String>] = [.failed, .again, .failed, .done("third attempt"), .done("never")]
        var next = outcomes.makeIterator()
        let value = await policy.run { attempt in
            attempts.append(attempt)
            return next.next() ?? .failed
        }
        #expect(value == "third attempt")
        #expect(attempts == [1, 2, 2, 3])
    }

    @Test("stopped before a try: nil, and the body is not called again")
    func stops() async {
        let tries = Mutex(0)
        let value: Int? = await policy.run(stopWhen: { tries.withLock { $0 } >= 3 }) { _ in
            tries.withLock { $0 += 1 }
            return .failed
        }
        #expect(value == nil)
        #expect(tries.withLock { $0 } == 3)
    }

    @Test("backoff doubles from the initial step up to the cap, each wait in the upper half of its step")
    func backoff() {
        let policy = RetryPolicy(initialBackoff: .milliseconds(100), maxBackoff: .seconds(1))
        #expect((1...6).map(policy.step(afterAttempt:)) == [.milliseconds(100), .milliseconds(200), .milliseconds(400), .milliseconds(800), .seconds(1), .seconds(1)])
        for attempt in 1...6 {
            let delay = policy.delay(afterAttempt: attempt)
            #expect(delay >= policy.step(afterAttempt: attempt) / 2 && delay <= policy.step(afterAttempt: attempt))
        }
    }
}
