import CRDKafka
import Dispatch
import Logging
import Synchronization

/// The consumer's owner hears of partitions before they change hands.
public protocol KafkaRebalanceListener: Sendable {
    /// Called once these partitions are assigned, before any of their messages is handed
    /// over: the owner may pause them here.
    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async

    /// Called before these partitions are given up. Finish their in-flight work and mark it
    /// done (the consumer commits right after this returns), or abandon it uncommitted.
    /// `lost` is true when the group has already given them to another member (this one
    /// missed its session timeout); nothing of them can be committed then.
    func partitionsRevoked(_ partitions: [KafkaTopicPartition], lost: Bool) async
}

/// Runs the group's assign and revoke steps on the poll thread, in the order that keeps
/// every message handled once: tell the owner, commit, and only then let the partitions go.
final class ConsumerRebalanceCoordinator: RebalanceCallbackHandler {
    private let buffer: ConsumerMessageBuffer
    private let pauses: FetchPauses
    private let listener: (any KafkaRebalanceListener)?
    private let logger: Logger
    private let assignment = Mutex<(generation: UInt64, partitions: Set<KafkaTopicPartition>)>((0, []))

    init(buffer: ConsumerMessageBuffer, pauses: FetchPauses, listener: (any KafkaRebalanceListener)?, logger: Logger) {
        self.buffer = buffer
        self.pauses = pauses
        self.listener = listener
        self.logger = logger
    }

    /// Changes every time partitions are assigned or revoked.
    var generation: UInt64 { assignment.withLock { $0.generation } }

    private let joiningCooperativeSticky = Mutex(false)

    /// The consumer subscribed with the cooperative-sticky assignor; see
    /// `isAwaitingFirstAssignment`.
    func subscribed(cooperativeSticky: Bool) {
        joiningCooperativeSticky.withLock { $0 = cooperativeSticky }
    }

    /// librdkafka before 2.3 (Debian's is 2.0.2) aborts the whole process when a
    /// cooperative-sticky member is destroyed after joining its group and before its first
    /// assignment (librdkafka #4312, an assertion on the assignor's state): true in that window.
    var isAwaitingFirstAssignment: Bool {
        joiningCooperativeSticky.withLock { $0 } && generation == 0
    }

    func isAssigned(_ partition: KafkaTopicPartition) -> Bool {
        assignment.withLock { $0.partitions.contains(partition) }
    }

    func rebalance(
        client: OpaquePointer,
        event: rd_kafka_resp_err_t,
        partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    ) {
        let changed = KafkaTopicPartition.array(from: partitions)
        let cooperative = String(cString: rd_kafka_rebalance_protocol(client)) == "COOPERATIVE"
        switch event {
        case RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS:
            logger.info("partitions assigned", metadata: ["partitions": "\(changed.sorted())"])
            let assigned = assignment.withLock { state in
                state.generation &+= 1
                state.partitions.formUnion(changed)
                return state.partitions
            }
            if cooperative {
                reportFailure(rd_kafka_incremental_assign(client, partitions), "incremental assign")
            } else {
                reportFailure(rd_kafka_assign(client, partitions), "assign")
            }
            updatePauses(assigned, client: client)
            // No message is handed over until this callback returns.
            if let listener { runToCompletion { await listener.partitionsAssigned(changed) } }

        case RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS:
            let lost = rd_kafka_assignment_lost(client) != 0
            logger.info("partitions revoked", metadata: ["partitions": "\(changed.sorted())", "lost": "\(lost)"])
            let remaining = assignment.withLock { state in
                state.generation &+= 1
                state.partitions.subtract(changed)
                return state.partitions
            }
            buffer.discard(Set(changed))
            if let listener { runToCompletion { await listener.partitionsRevoked(changed, lost: lost) } }
            if !lost {
                // Synchronous, so that the next owner starts after what this one finished.
                let error = rd_kafka_commit(client, nil, 0)
                if error != RD_KAFKA_RESP_ERR_NO_ERROR, error != RD_KAFKA_RESP_ERR__NO_OFFSET {
                    logger.warning("commit before revocation failed", metadata: [
                        "error": "\(KafkaError(code: .commit, responseError: error))",
                    ])
                }
            }
            if cooperative {
                reportFailure(rd_kafka_incremental_unassign(client, partitions), "incremental unassign")
            } else {
                reportFailure(rd_kafka_assign(client, nil), "unassign")
            }
            updatePauses(remaining, client: client)

        default:
            logger.error("rebalance failed", metadata: ["error": "\(KafkaError(code: .rebalance, responseError: event))"])
            reportFailure(rd_kafka_assign(client, nil), "unassign")
        }
    }

    /// Partitions just assigned get the pauses in force before any of their messages is polled.
    private func updatePauses(_ assignment: Set<KafkaTopicPartition>, client: OpaquePointer) {
        do {
            try pauses.assignmentChanged(to: assignment, client: client)
        } catch {
            logger.warning("could not pause the partitions assigned", metadata: ["error": "\(error)"])
        }
    }

    private func reportFailure(_ error: rd_kafka_resp_err_t, _ step: String) {
        guard error != RD_KAFKA_RESP_ERR_NO_ERROR else { return }
        logger.error("\(step) failed", metadata: ["error": "\(KafkaError(code: .rebalance, responseError: error))"])
    }

    private func reportFailure(_ error: OpaquePointer?, _ step: String) {
        guard let error else { return }
        logger.error("\(step) failed", metadata: ["error": "\(KafkaError(code: .rebalance, consuming: error))"])
    }

    /// The poll thread is not part of the cooperative pool, so it may block here while the
    /// owner's async callback runs on the pool.
    private func runToCompletion(_ operation: @escaping @Sendable () async -> Void) {
        let done = DispatchSemaphore(value: 0)
        Task {
            await operation()
            done.signal()
        }
        done.wait()
    }
}
