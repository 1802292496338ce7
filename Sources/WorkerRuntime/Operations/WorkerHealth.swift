import Synchronization

/// Liveness and readiness as the operations endpoint reports them. The worker says whether it
/// is consuming (partitions assigned, or in the group waiting for them); the probes say
/// whether the store and the broker answered lately.
public final class WorkerHealth: Sendable {
    public enum Check: String, Sendable, CaseIterable {
        case consumer, store, broker
    }

    /// Each failing check, with why when it is known.
    private let failing = Mutex<[Check: String]>(Dictionary(uniqueKeysWithValues: Check.allCases.map { ($0, "") }))

    /// Why the worker is not live (stuck), while it is not.
    private let notLive = Mutex<String?>(nil)

    public init() {}

    var isLive: Bool { notLive.withLock { $0 == nil } }

    /// Liveness and why not: the operations endpoint answers 503 with the reason.
    public var liveness: (live: Bool, reason: String) {
        let reason = notLive.withLock { $0 }
        return (reason == nil, reason ?? "")
    }

    func setLive(_ live: Bool, reason: String = "") {
        notLive.withLock { $0 = live ? nil : reason }
    }

    func set(_ check: Check, passing isPassing: Bool, reason: String = "") {
        failing.withLock { if isPassing { $0[check] = nil } else { $0[check] = reason } }
    }

    /// Each check, whether it passes and why not; ready when all do.
    public var checks: [(check: Check, passing: Bool, reason: String)] {
        let failing = failing.withLock { $0 }
        return Check.allCases.map { ($0, failing[$0] == nil, failing[$0] ?? "") }
    }
}
