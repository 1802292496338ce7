import CRDKafka

/// An error from the Kafka layer: what went wrong in our terms (`code`), librdkafka's own
/// code and text where it had one, and whether trying again can help.
public struct KafkaError: Error, Sendable, CustomStringConvertible {
    /// What kind of operation failed. Extensible: new codes do not break callers' switches.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let rawValue: String

        public static let configuration = Code(rawValue: "configuration")
        public static let clientCreation = Code(rawValue: "clientCreation")
        public static let produce = Code(rawValue: "produce")
        public static let delivery = Code(rawValue: "delivery")
        public static let flush = Code(rawValue: "flush")
        public static let subscription = Code(rawValue: "subscription")
        public static let consume = Code(rawValue: "consume")
        public static let offsetStore = Code(rawValue: "offsetStore")
        public static let commit = Code(rawValue: "commit")
        public static let partitionControl = Code(rawValue: "partitionControl")
        public static let rebalance = Code(rawValue: "rebalance")
        public static let client = Code(rawValue: "client")
        public static let closed = Code(rawValue: "closed")
        public static let devBroker = Code(rawValue: "devBroker")

        public var description: String { rawValue }
    }

    public let code: Code
    /// librdkafka's `rd_kafka_resp_err_t`, 0 when the fault is ours rather than librdkafka's.
    public let librdkafkaCode: Int32
    /// librdkafka's name for `librdkafkaCode`, such as `_MSG_TIMED_OUT`.
    public let librdkafkaName: String
    public let message: String
    /// Trying the same operation again may succeed (the broker or network was unavailable).
    public let isRetriable: Bool
    /// The client can do nothing more and must be recreated.
    public let isFatal: Bool

    public init(
        code: Code,
        message: String,
        librdkafkaCode: Int32 = 0,
        isRetriable: Bool = false,
        isFatal: Bool = false
    ) {
        self.code = code
        self.message = message
        self.librdkafkaCode = librdkafkaCode
        self.librdkafkaName = librdkafkaCode == 0
            ? "" : String(cString: rd_kafka_err2name(rd_kafka_resp_err_t(rawValue: librdkafkaCode)))
        self.isRetriable = isRetriable
        self.isFatal = isFatal
    }

    /// An error from a librdkafka response code, with librdkafka's text for it.
    init(code: Code, responseError: rd_kafka_resp_err_t, context: String? = nil, isFatal: Bool = false) {
        let text = String(cString: rd_kafka_err2str(responseError))
        self.init(
            code: code,
            message: context.map { "\($0): \(text)" } ?? text,
            librdkafkaCode: responseError.rawValue,
            isRetriable: Self.isRetriable(responseError),
            isFatal: isFatal || responseError == RD_KAFKA_RESP_ERR__FATAL
        )
    }

    /// Takes ownership of `error` and destroys it.
    init(code: Code, consuming error: OpaquePointer, context: String? = nil) {
        let text = String(cString: rd_kafka_error_string(error))
        self.init(
            code: code,
            message: context.map { "\($0): \(text)" } ?? text,
            librdkafkaCode: rd_kafka_error_code(error).rawValue,
            isRetriable: rd_kafka_error_is_retriable(error) != 0
                || Self.isRetriable(rd_kafka_error_code(error)),
            isFatal: rd_kafka_error_is_fatal(error) != 0
        )
        rd_kafka_error_destroy(error)
    }

    public var description: String {
        var text = "KafkaError.\(code): \(message)"
        if !librdkafkaName.isEmpty { text += " [\(librdkafkaName)]" }
        if isFatal { text += " (fatal)" } else if isRetriable { text += " (retriable)" }
        return text
    }

    /// The broker or librdkafka refuses this message however often it is sent: too large,
    /// an invalid topic, not authorized. A producer's owner must not wait for it.
    public var isPermanentForMessage: Bool {
        Self.permanentMessageCodes.contains(librdkafkaCode)
    }

    /// The message is larger than the producer's or the broker's `message.max.bytes`.
    public var isMessageTooLarge: Bool {
        librdkafkaCode == RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE.rawValue
    }

    private static let permanentMessageCodes: Set<Int32> = [
        RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_RECORD_LIST_TOO_LARGE,
        RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR_INVALID_RECORD, RD_KAFKA_RESP_ERR__INVALID_ARG,
    ].reduce(into: []) { $0.insert($1.rawValue) }

    /// Codes for which the same request can succeed later: the broker, leader, coordinator or
    /// network was not there yet. Kafka's own protocol marks these retriable too.
    static func isRetriable(_ error: rd_kafka_resp_err_t) -> Bool {
        retriableCodes.contains(error.rawValue)
    }

    private static let retriableCodes: Set<Int32> = [
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT,
        RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN, RD_KAFKA_RESP_ERR__TIMED_OUT,
        RD_KAFKA_RESP_ERR__QUEUE_FULL, RD_KAFKA_RESP_ERR__RESOLVE, RD_KAFKA_RESP_ERR__WAIT_COORD,
        RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE, RD_KAFKA_RESP_ERR__NODE_UPDATE,
        RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART, RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RD_KAFKA_RESP_ERR_NETWORK_EXCEPTION, RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE, RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
        RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND,
        RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS, RD_KAFKA_RESP_ERR_KAFKA_STORAGE_ERROR,
        RD_KAFKA_RESP_ERR_FETCH_SESSION_ID_NOT_FOUND, RD_KAFKA_RESP_ERR_OFFSET_NOT_AVAILABLE,
    ].reduce(into: []) { $0.insert($1.rawValue) }
}
