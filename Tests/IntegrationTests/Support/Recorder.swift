import Synchronization

struct DeadlineExceeded: Error, CustomStringConvertible {
    let waitingFor: String
    let timeout: Duration
    var description: String { "waited \(timeout) for \(waitingFor)" }
}

/// Collects events as they happen and lets a test wait, with a deadline, until what it
/// collected satisfies a condition. No polling and no fixed sleeps: each append re-checks
/// the waiters.
final class Recorder<Element: Sendable>: Sendable {
    private struct Waiter {
        let id: UInt64
        let condition: @Sendable ([Element]) -> Bool
        let continuation: CheckedContinuation<[Element], any Error>
    }

    private struct State {
        var items: [Element] = []
        var waiters: [Waiter] = []
        var nextID: UInt64 = 0
    }

    private let state = Mutex(State())

    init() {}

    var items: [Element] { state.withLock { $0.items } }

    func append(_ item: Element) {
        let (satisfied, snapshot) = state.withLock { state in
            state.items.append(item)
            let snapshot = state.items
            var satisfied: [Waiter] = []
            state.waiters.removeAll { waiter in
                guard waiter.condition(snapshot) else { return false }
                satisfied.append(waiter)
                return true
            }
            return (satisfied, snapshot)
        }
        for waiter in satisfied { waiter.continuation.resume(returning: snapshot) }
    }

    /// Returns the items once `condition` holds for them; throws `DeadlineExceeded` if it
    /// does not within `timeout`.
    @discardableResult
    func wait(
        for description: String,
        timeout: Duration = .seconds(30),
        until condition: @escaping @Sendable ([Element]) -> Bool
    ) async throws -> [Element] {
        try await withCheckedThrowingContinuation { continuation in
            let id: UInt64? = state.withLock { state in
                if condition(state.items) { return nil }
                state.nextID += 1
                state.waiters.append(Waiter(id: state.nextID, condition: condition, continuation: continuation))
                return state.nextID
            }
            guard let id else {
                continuation.resume(returning: items)
                return
            }
            Task {
                try? await Task.sleep(for: timeout)
                let expired = state.withLock { state -> Waiter? in
                    guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                    return state.waiters.remove(at: index)
                }
                expired?.continuation.resume(throwing: DeadlineExceeded(waitingFor: description, timeout: timeout))
            }
        }
    }

    @discardableResult
    func wait(forCount count: Int, _ description: String, timeout: Duration = .seconds(30)) async throws -> [Element] {
        try await wait(for: "\(count) \(description)", timeout: timeout) { $0.count >= count }
    }
}
