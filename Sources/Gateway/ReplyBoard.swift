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
        var waiter: CheckedContinuation<KafkaConsumerMessage?, Never>?
        /// The request stopped waiting (its timer may fire before it starts to).
        var timedOut = false
        /// When an entry no longer waited for is dropped.
        var expires: ContinuousClock.Instant
    }

    private let capacity: Int
    private let keep: Duration
    private let entries = Mutex<[String: Entry]>([:])
    /// When expired entries were last dropped: at most once a second, so that a flood of
    /// requests against a full board does not scan it each time.
    private let lastPruned = Mutex(ContinuousClock.now)

    init(capacity: Int, keep: Duration) {
        self.capacity = capacity
        self.keep = keep
    }

    var count: Int { entries.withLock { $0.count } }

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
        return entries.withLock { entries in
            if entries.count >= capacity, prune {
                entries = entries.filter { $0.value.waiter != nil || $0.value.expires > now }
            }
            if let entry = entries[id], entry.waiter != nil || entry.expires > now { return .taken }
            guard entries.count < capacity else { return .full }
            entries[id] = Entry(expires: now + keep)
            return .registered
        }
    }

    /// The reply to `id`, or nil once `timeout` has passed; the reply is then kept for
    /// `GET /replies/<id>` when it comes.
    func wait(for id: String, timeout: Duration) async -> KafkaConsumerMessage? {
        let timer = Task {
            try await Task.sleep(for: timeout)
            self.stopWaiting(id)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let ready = entries.withLock { entries -> KafkaConsumerMessage?? in
                guard var entry = entries[id] else { return .some(nil) }
                if let reply = entry.reply {
                    entries[id] = nil
                    return .some(reply)
                }
                if entry.timedOut { return .some(nil) }
                entry.waiter = continuation
                entries[id] = entry
                return .none
            }
            if let ready { continuation.resume(returning: ready) }
        }
    }

    /// A reply read from the results topic: handed to its waiter, or kept.
    func deliver(_ message: KafkaConsumerMessage) {
        guard let id = message.headers.string(named: "correlation-id") else { return }
        let now = ContinuousClock.now
        let waiter = entries.withLock { entries -> CheckedContinuation<KafkaConsumerMessage?, Never>? in
            guard var entry = entries[id], entry.reply == nil else { return nil }
            if let waiter = entry.waiter {
                // Answered now: nothing to keep.
                entries[id] = nil
                return waiter
            }
            entry.reply = message
            entry.expires = now + keep
            entries[id] = entry
            return nil
        }
        waiter?.resume(returning: message)
    }

    func lookup(_ id: String) -> Lookup {
        let now = ContinuousClock.now
        return entries.withLock { entries in
            guard let entry = entries[id], entry.waiter != nil || entry.expires > now else { return .unknown }
            return entry.reply.map(Lookup.arrived) ?? .pending
        }
    }

    /// Forgets `id` (its command never reached the broker).
    func remove(_ id: String) {
        let waiter = entries.withLock { $0.removeValue(forKey: id)?.waiter }
        waiter?.resume(returning: nil)
    }

    private func stopWaiting(_ id: String) {
        let now = ContinuousClock.now
        let waiter = entries.withLock { entries -> CheckedContinuation<KafkaConsumerMessage?, Never>? in
            guard var entry = entries[id] else { return nil }
            let waiter = entry.waiter
            entry.waiter = nil
            entry.timedOut = true
            entry.expires = now + keep
            entries[id] = entry
            return waiter
        }
        waiter?.resume(returning: nil)
    }
}
