import Foundation
import Synchronization

/// A thread of its own for one client's poll loop: librdkafka's polls block, and Swift's
/// cooperative pool has one thread per core, so a blocked poll there would stall every task.
final class KafkaPollThread: Sendable {
    private struct State {
        var finished = false
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    init(name: String, loop: @escaping @Sendable () -> Void) {
        let thread = Thread {
            loop()
            self.markFinished()
        }
        thread.name = name
        thread.start()
    }

    private func markFinished() {
        let waiters = state.withLock { state in
            state.finished = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Returns when the loop has returned.
    func waitUntilFinished() async {
        await withCheckedContinuation { continuation in
            let finished = state.withLock { state in
                if !state.finished { state.waiters.append(continuation) }
                return state.finished
            }
            if finished { continuation.resume() }
        }
    }
}

/// Tells a poll loop to stop, and how long it may take to drain when it does. The first
/// request wins: a later close cannot shorten or lengthen a drain already under way.
final class PollLoopControl: Sendable {
    private let state = Mutex<(stop: Bool, drainTimeout: Duration)>((false, .zero))

    var isStopRequested: Bool { state.withLock { $0.stop } }

    var drainTimeout: Duration { state.withLock { $0.drainTimeout } }

    /// Returns false when a stop was already requested.
    @discardableResult
    func requestStop(drainTimeout: Duration) -> Bool {
        state.withLock { state in
            guard !state.stop else { return false }
            state = (true, drainTimeout)
            return true
        }
    }
}
