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
        let condition: Condition
        let continuation: CheckedContinuation<[Element], any Error>
    }

    /// A condition on everything collected, or on one item: the second is checked only
    /// against items not seen yet, so waiting for one reply among 20 000 costs an append
    /// one check, not 20 000 (which once left a test seconds behind its consumer).
    private enum Condition {
        case all(@Sendable ([Element]) -> Bool)
        case any(@Sendable (Element) -> Bool)

        func holds(for items: [Element], newFrom start: Int) -> Bool {
            switch self {
            case .all(let condition): condition(items)
            case .any(let matches): items[start...].contains(where: matches)
            }
        }
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
                guard waiter.condition.holds(for: snapshot, newFrom: snapshot.count - 1) else { return false }
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
        try await wait(for: description, timeout: timeout, .all(condition))
    }

    /// Returns the first item that `matches`, once one is collected; throws `DeadlineExceeded`
    /// if none is within `timeout`.
    func first(
        _ description: String, timeout: Duration = .seconds(30), where matches: @escaping @Sendable (Element) -> Bool
    ) async throws -> Element {
        let items = try await wait(for: description, timeout: timeout, .any(matches))
        guard let item = items.first(where: matches) else {
            throw DeadlineExceeded(waitingFor: description, timeout: timeout)
        }
        return item
    }

    private func wait(for description: String, timeout: Duration, _ condition: Condition) async throws -> [Element] {
        try await withCheckedThrowingContinuation { continuation in
            let id: UInt64? = state.withLock { state in
                if condition.holds(for: state.items, newFrom: 0) { return nil }
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
