/// A rebalance listener to await a consumer's first non-empty assignment with: tools and
/// benchmarks that must not miss what is produced after they start reading.
public final class KafkaAssignmentSignal: KafkaRebalanceListener {
    private let stream = AsyncStream<[KafkaTopicPartition]>.makeStream()

    public init() {}

    public func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async {
        guard !partitions.isEmpty else { return }
        stream.continuation.yield(partitions)
        stream.continuation.finish()
    }

    public func partitionsRevoked(_ partitions: [KafkaTopicPartition], lost: Bool) async {}

    /// The first partitions assigned; throws when none are within `timeout`.
    public func partitions(within timeout: Duration) async throws -> [KafkaTopicPartition] {
        try await withThrowingTaskGroup(of: [KafkaTopicPartition]?.self) { group in
            group.addTask {
                for await partitions in self.stream.stream { return partitions }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            guard let partitions = try await group.next() ?? nil else {
                throw KafkaError(code: .client, message: "no partitions were assigned within \(timeout)")
            }
            return partitions
        }
    }
}
