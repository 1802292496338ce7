import CRDKafka
import Synchronization

/// Which assigned partitions librdkafka is told not to fetch, and why: partitions the owner
/// paused one by one, a hold the owner put on all of them, or the hand-off buffer being full.
/// The consumer is polled all the while, so it never leaves its group for waiting.
///
/// A paused partition's fetched messages are dropped by librdkafka; every resume seeks to the
/// message after the last one polled in the current assignment, as this class records it,
/// so that the resume point never depends on librdkafka's own (before 2.1.0, Debian's is
/// 2.0.2, it could be wrong after a pause). A partition with nothing polled since it was
/// assigned resumes where librdkafka's fetcher is, which is where the assignment started.
final class FetchPauses: Sendable {
    private struct State {
        var byOwner: Set<KafkaTopicPartition> = []
        var ownerHold = false
        var backlog = false
        /// What librdkafka was last told, among the partitions assigned then.
        var applied: Set<KafkaTopicPartition> = []
        var assignment: Set<KafkaTopicPartition> = []
        /// The offset after the last message polled, per partition, in the current assignment.
        var positions: [KafkaTopicPartition: Int64] = [:]
    }

    private let state = Mutex(State())

    /// Whether a hold on every partition is in effect (the owner's or the backlog's).
    var isHoldingAll: Bool { state.withLock { $0.ownerHold || $0.backlog } }

    func pause(_ partitions: [KafkaTopicPartition], client: OpaquePointer) throws {
        try state.withLock { state in
            state.byOwner.formUnion(partitions)
            try Self.apply(&state, client: client)
        }
    }

    func resume(_ partitions: [KafkaTopicPartition], client: OpaquePointer) throws {
        try state.withLock { state in
            state.byOwner.subtract(partitions)
            try Self.apply(&state, client: client)
        }
    }

    func setOwnerHold(_ hold: Bool, client: OpaquePointer) throws {
        try state.withLock { state in
            state.ownerHold = hold
            try Self.apply(&state, client: client)
        }
    }

    /// Poll thread: the hand-off buffer is full (or has room again).
    func setBacklog(_ backlog: Bool, client: OpaquePointer) throws {
        try state.withLock { state in
            guard state.backlog != backlog else { return }
            state.backlog = backlog
            try Self.apply(&state, client: client)
        }
    }

    /// Poll thread: a message of `partition` at `offset` was polled.
    func polled(_ partition: KafkaTopicPartition, offset: Int64) {
        state.withLock { $0.positions[partition] = offset + 1 }
    }

    /// Poll thread, inside the rebalance callback: a partition revoked forgets its position;
    /// new partitions get the pauses in force, explicitly either way (one given back may
    /// still carry librdkafka's pause from before).
    func assignmentChanged(to assignment: Set<KafkaTopicPartition>, client: OpaquePointer) throws {
        try state.withLock { state in
            let added = assignment.subtracting(state.assignment)
            let removed = state.assignment.subtracting(assignment)
            for partition in removed { state.positions[partition] = nil }
            state.assignment = assignment
            state.applied.formIntersection(assignment)
            let wanted = Self.wanted(state)
            let addedPaused = added.intersection(wanted)
            let addedRunning = added.subtracting(wanted)
            if !addedPaused.isEmpty {
                let list = NativePartitionList(Array(addedPaused))
                try Self.check(rd_kafka_pause_partitions(client, list.pointer), list, "pausing")
                state.applied.formUnion(addedPaused)
            }
            if !addedRunning.isEmpty {
                let list = NativePartitionList(Array(addedRunning))
                try Self.check(rd_kafka_resume_partitions(client, list.pointer), list, "resuming")
            }
            try Self.apply(&state, client: client)
        }
    }

    private static func wanted(_ state: State) -> Set<KafkaTopicPartition> {
        state.ownerHold || state.backlog ? state.assignment : state.byOwner.intersection(state.assignment)
    }

    private static func apply(_ state: inout State, client: OpaquePointer) throws {
        let wanted = Self.wanted(state)
        let toPause = wanted.subtracting(state.applied)
        let toResume = state.applied.subtracting(wanted)
        if !toPause.isEmpty {
            let list = NativePartitionList(Array(toPause))
            try check(rd_kafka_pause_partitions(client, list.pointer), list, "pausing")
        }
        if !toResume.isEmpty {
            try seek(toResume.compactMap { partition in state.positions[partition].map { (partition, $0) } }, client: client)
            let list = NativePartitionList(Array(toResume))
            try check(rd_kafka_resume_partitions(client, list.pointer), list, "resuming")
        }
        state.applied = wanted
    }

    /// Sends each partition's fetcher to the given offset. Asynchronous: it is ordered before
    /// the resume that follows.
    private static func seek(_ positions: [(KafkaTopicPartition, Int64)], client: OpaquePointer) throws {
        guard !positions.isEmpty else { return }
        let list = NativePartitionList(positions.map(\.0), offsets: Dictionary(uniqueKeysWithValues: positions))
        if let error = rd_kafka_seek_partitions(client, list.pointer, 0) {
            throw KafkaError(code: .partitionControl, consuming: error, context: "seeking before resuming")
        }
    }

    fileprivate static func check(_ error: rd_kafka_resp_err_t, _ list: borrowing NativePartitionList, _ step: String) throws {
        if let (partition, partitionError) = list.firstError() {
            throw KafkaError(code: .partitionControl, responseError: partitionError, context: "\(step) \(partition)")
        }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: .partitionControl, responseError: error, context: step)
        }
    }
}
