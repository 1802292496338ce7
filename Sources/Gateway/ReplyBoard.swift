import Kafka
import Synchronization

/// Where requests wait for their replies, by correlation id. Bounded: at most `capacity`
/// ids are waited for or kept at once. A reply handed to its waiting request is forgotten
/// at once; one for a request answered `202` (it stopped waiting, or never waited) is kept
/// `keep` after it came, for `GET /replies/<id>`; replies to other gateways' requests are
/// never kept.
final class ReplyBoard: Sendable {
    enum Lookup: Sendable {
        case arrived(KafkaConsumerMessage)
        case pending
        case unknown
    }

    private struct Entry {
        var reply: KafkaConsumerMessage?
        /// The request stopped waiting.
        var timedOut = false
        /// When an entry no longer waited for is dropped.
        var expires: ContinuousClock.Instant
    }

    private struct Wait {
        var waiter: CheckedContinuation<KafkaConsumerMessage?, Never>
        var deadline: ContinuousClock.Instant
    }

    private struct State {
        var entries: [String: Entry] = [:]
        /// The requests waiting now, by id, with when each gives up: one timer scans these
        /// instead of a task a request. A table rather than a sorted queue: requests reach the
        /// lock in no particular order of deadline, and an answered wait leaves nothing behind.
        var waits: [String: Wait] = [:]

        /// Removes and returns the waits whose deadline has come.
        mutating func due(at now: ContinuousClock.Instant) -> [CheckedContinuation<KafkaConsumerMessage?, Never>] {
            var due: [CheckedContinuation<KafkaConsumerMessage?, Never>] = []
            for id in waits.compactMap({ $0.value.deadline <= now ? $0.key : nil }) {
                guard let wait = waits.removeValue(forKey: id) else { continue }
                due.append(wait.waiter)
                entries[id]?.timedOut = true
                entries[id]?.expires = now + keep
            }
            return due
        }

        /// Whether `id` holds its place: waited for, or kept until it expires.
        func holds(_ id: String, _ entry: Entry, at now: ContinuousClock.Instant) -> Bool {
            waits[id] != nil || entry.expires > now
        }

        let keep: Duration
    }

    private let capacity: Int
    private let keep: Duration
    private let state: Mutex<State>
    /// When expired entries were last dropped: at most once a second, so that a flood of
    /// requests against a full board does not scan it each time.
    private let lastPruned = Mutex(ContinuousClock.now)

    init(capacity: Int, keep: Duration) {
        self.capacity = capacity
        self.keep = keep
        state = Mutex(State(keep: keep))
    }

    var count: Int { state.withLock { $0.entries.count } }

    /// Requests waiting for their replies now.
    var waiting: Int { state.withLock { $0.waits.count } }

    enum Registration: Sendable, Equatable {
        case registered
        /// As many requests as allowed wait already.
        case full
        /// A request with this id waits, or its reply is kept.
        case taken
    }

    /// Takes a place for `id`, dropping what expired when the board is full.
    func register(_ id: String) -> Registration {
        let now = ContinuousClock.now
        let prune = lastPruned.withLock { last in
            guard now - last >= .seconds(1) else { return false }
            last = now
            return true
        }
        return state.withLock { state in
            if state.entries.count >= capacity, prune {
                let held = state.entries.filter { state.holds($0.key, $0.value, at: now) }
                state.entries = held
            }
            if let entry = state.entries[id], state.holds(id, entry, at: now) { return .taken }
            guard state.entries.count < capacity else { return .full }
            state.entries[id] = Entry(expires: now + keep)
            return .registered
        }
    }

    /// The reply to `id`, or nil once `timeout` has passed (to within `expireWaits`'s tick);
    /// the reply is then kept for `GET /replies/<id>` when it comes.
    func wait(for id: String, timeout: Duration) async -> KafkaConsumerMessage? {
        let deadline = ContinuousClock.now + timeout
        return await withCheckedContinuation { continuation in
            let ready = state.withLock { state -> KafkaConsumerMessage?? in
                guard var entry = state.entries[id] else { return .some(nil) }
                if let reply = entry.reply {
                    state.entries[id] = nil
                    return .some(reply)
                }
                if entry.timedOut { return .some(nil) }
                guard timeout > .zero else {
                    // No wait at all: answered 202 at once, the reply kept when it comes.
                    entry.timedOut = true
                    entry.expires = .now + keep
                    state.entries[id] = entry
                    return .some(nil)
                }
                state.waits[id] = Wait(waiter: continuation, deadline: deadline)
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// Ends the waits whose timeout has passed, every `tick`, until cancelled.
    func expireWaits(every tick: Duration = .milliseconds(100)) async {
        while (try? await Task.sleep(for: tick)) != nil {
            expireWaits(at: .now)
        }
    }

    func expireWaits(at now: ContinuousClock.Instant) {
        for waiter in state.withLock({ $0.due(at: now) }) { waiter.resume(returning: nil) }
    }

    /// A reply read from the results topic: handed to its waiter, or kept.
    func deliver(_ message: KafkaConsumerMessage) {
        guard let id = message.headers.string(named: "correlation-id") else { return }
        let now = ContinuousClock.now
        let waiter = state.withLock { state -> CheckedContinuation<KafkaConsumerMessage?, Never>? in
            guard var entry = state.entries[id], entry.reply == nil else { return nil }
            if let wait = state.waits.removeValue(forKey: id) {
                // Answered now: nothing to keep.
                state.entries[id] = nil
                return wait.waiter
            }
            entry.reply = message
            entry.expires = now + keep
            state.entries[id] = entry
            return nil
        }
        waiter?.resume(returning: message)
    }

    func lookup(_ id: String) -> Lookup {
        let now = ContinuousClock.now
        return state.withLock { state in
            guard let entry = state.entries[id], state.holds(id, entry, at: now) else { return .unknown }
            return entry.reply.map(Lookup.arrived) ?? .pending
        }
    }

    /// Forgets `id` (its command never reached the broker).
    func remove(_ id: String) {
        let waiter = state.withLock { state in
            state.entries[id] = nil
            return state.waits.removeValue(forKey: id)?.waiter
        }
        waiter?.resume(returning: nil)
    }
}
