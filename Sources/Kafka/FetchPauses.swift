import CRDKafka
import Synchronization

/// Which assigned partitions librdkafka is told not to fetch, and why: partitions the owner
/// paused one by one, a hold the owner put on all of them, or the hand-off buffer being full.
/// The consumer is polled all the while, so it never leaves its group for waiting.
///
/// librdkafka before 2.1.0 (Debian's is 2.0.2) could skip messages of a partition paused and
/// resumed while fetched messages were queued (fixed upstream in 2.1.0): every resume seeks
/// to the application's position first, which makes the resume point explicit. The
/// hold-and-release test did not show a skip here without it; it costs one refetch a resume.
final class FetchPauses: Sendable {
    private struct State {
        var byOwner: Set<KafkaTopicPartition> = []
        var ownerHold = false
        var backlog = false
        /// What librdkafka was last told, among the partitions assigned then.
        var applied: Set<KafkaTopicPartition> = []
        var assignment: Set<KafkaTopicPartition> = []
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

    /// Poll thread, after a rebalance: new partitions get the pauses in force.
    func assignmentChanged(to assignment: Set<KafkaTopicPartition>, client: OpaquePointer) throws {
        try state.withLock { state in
            let added = assignment.subtracting(state.assignment)
            state.assignment = assignment
            state.applied.formIntersection(assignment)
            // A partition given back may still carry librdkafka's pause from before.
            state.applied.formUnion(added)
            try Self.apply(&state, client: client)
        }
    }

    private static func apply(_ state: inout State, client: OpaquePointer) throws {
        let wanted = state.ownerHold || state.backlog ? state.assignment : state.byOwner.intersection(state.assignment)
        let toPause = wanted.subtracting(state.applied)
        let toResume = state.applied.subtracting(wanted)
        if !toPause.isEmpty {
            let list = NativePartitionList(Array(toPause))
            try check(rd_kafka_pause_partitions(client, list.pointer), list, "pausing")
        }
        if !toResume.isEmpty {
            try seekToApplicationPosition(Array(toResume), client: client)
            let list = NativePartitionList(Array(toResume))
            try check(rd_kafka_resume_partitions(client, list.pointer), list, "resuming")
        }
        state.applied = wanted
    }

    /// Sends each partition's fetcher back to the message after the last one handed over or,
    /// when none was, to the stored offset. Asynchronous: it is ordered before the resume.
    private static func seekToApplicationPosition(_ partitions: [KafkaTopicPartition], client: OpaquePointer) throws {
        let list = NativePartitionList(partitions)
        _ = rd_kafka_position(client, list.pointer)
        let positions = list.offsets()
        let seek = NativePartitionList(partitions, offsets: Dictionary(uniqueKeysWithValues: partitions.map { partition in
            (partition, positions[partition].flatMap { $0 >= 0 ? $0 : nil } ?? Int64(RD_KAFKA_OFFSET_STORED))
        }))
        if let error = rd_kafka_seek_partitions(client, seek.pointer, 0) {
            throw KafkaError(code: .partitionControl, consuming: error, context: "seeking before resuming")
        }
    }

    private static func check(_ error: rd_kafka_resp_err_t, _ list: borrowing NativePartitionList, _ step: String) throws {
        if let (partition, partitionError) = list.firstError() {
            throw KafkaError(code: .partitionControl, responseError: partitionError, context: "\(step) \(partition)")
        }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: .partitionControl, responseError: error, context: step)
        }
    }
}
