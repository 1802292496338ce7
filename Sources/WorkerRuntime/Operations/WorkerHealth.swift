import Synchronization

/// Liveness and readiness as the operations endpoint reports them. The worker says whether it
/// is consuming (partitions assigned, or in the group waiting for them); the probes say
/// whether the store and the broker answered lately.
public final class WorkerHealth: Sendable {
    public enum Check: String, Sendable, CaseIterable {
        case consumer, store, broker
    }

    private let passing = Mutex<Set<Check>>([])

    public init() {}

    func set(_ check: Check, passing isPassing: Bool) {
        passing.withLock { if isPassing { $0.insert(check) } else { $0.remove(check) } }
    }

    /// Each check and whether it passes; ready when all do.
    public var checks: [(check: Check, passing: Bool)] {
        let passing = passing.withLock { $0 }
        return Check.allCases.map { ($0, passing.contains($0)) }
    }
}
