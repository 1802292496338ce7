import CRDKafka
import Logging
import Synchronization

/// A Kafka cluster for development and tests: librdkafka's mock cluster, whose brokers listen
/// on loopback TCP ports and speak the Kafka protocol to any client (kcat included).
/// Supports produce, idempotent produce, group consumers with offset commits.
public final class KafkaDevBroker: Sendable {
    /// `host:port,...` for `bootstrap.servers`.
    public let bootstrapServers: String
    public let brokerCount: Int
    private let cluster: Mutex<MockCluster?>

    /// The cluster and the client that owns it; librdkafka requires the one for the other.
    private struct MockCluster: @unchecked Sendable {
        let handle: OpaquePointer
        let client: RDKafkaClient
    }

    public init(brokerCount: Int = 1, logger: Logger = Logger(label: "kafka.dev-broker")) throws {
        guard (1...32).contains(brokerCount) else {
            throw KafkaError(code: .devBroker, message: "broker count must be 1 to 32, not \(brokerCount)")
        }
        let client = try RDKafkaClient(
            type: RD_KAFKA_PRODUCER,
            // This client only owns the cluster and never connects; its notices are noise.
            properties: ["client.id": "dev-broker", "log_level": "4"],
            context: KafkaClientContext(logger: logger, errorHandler: nil)
        )
        guard let handle = rd_kafka_mock_cluster_new(client.handle, Int32(brokerCount)) else {
            throw KafkaError(code: .devBroker, message: "librdkafka could not start a mock cluster")
        }
        self.bootstrapServers = String(cString: rd_kafka_mock_cluster_bootstraps(handle))
        self.brokerCount = brokerCount
        self.cluster = Mutex(MockCluster(handle: handle, client: client))
    }

    /// Creates a topic with this many partitions (auto-created topics get librdkafka's default).
    public func createTopic(_ name: String, partitions: Int, replicationFactor: Int = 1) throws {
        try withCluster { cluster in
            let error = rd_kafka_mock_topic_create(
                cluster, name, Int32(partitions), Int32(min(replicationFactor, brokerCount)))
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(code: .devBroker, responseError: error, context: "creating topic \(name)")
            }
        }
    }

    /// Takes one broker down (ids are 1 to `brokerCount`): its connections drop and new ones
    /// are refused until `bringUp`.
    public func takeDown(broker id: Int32) throws {
        try withCluster { cluster in
            let error = rd_kafka_mock_broker_set_down(cluster, id)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(code: .devBroker, responseError: error, context: "taking broker \(id) down")
            }
        }
    }

    public func bringUp(broker id: Int32) throws {
        try withCluster { cluster in
            let error = rd_kafka_mock_broker_set_up(cluster, id)
            guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
                throw KafkaError(code: .devBroker, responseError: error, context: "bringing broker \(id) up")
            }
        }
    }

    /// Answers the next produce request with `OUT_OF_ORDER_SEQUENCE_NUMBER`, as a persistent
    /// broker restarted under an idempotent producer may: librdkafka then declares that
    /// producer failed for good. For drills of what a service does about it.
    public func breakNextProduceSequence() throws {
        try withCluster { cluster in
            var errors = [RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER]
            rd_kafka_mock_push_request_errors_array(cluster, 0 /* Produce */, errors.count, &errors)
        }
    }

    /// Stops every broker. Later calls on this broker throw; stopping twice does nothing.
    public func stop() async {
        guard let stopped = cluster.withLock({ cluster in
            defer { cluster = nil }
            return cluster
        }) else { return }
        // Joins the mock cluster's thread: not on the cooperative pool.
        _ = try? await stopped.client.runBlocking { _ in
            rd_kafka_mock_cluster_destroy(stopped.handle)
        }
    }

    deinit {
        if let remaining = cluster.withLock({ $0 }) {
            rd_kafka_mock_cluster_destroy(remaining.handle)
        }
    }

    private func withCluster(_ body: (OpaquePointer) throws -> Void) throws {
        try cluster.withLock { cluster in
            guard let cluster else {
                throw KafkaError(code: .closed, message: "the dev broker is stopped")
            }
            try body(cluster.handle)
        }
    }
}
