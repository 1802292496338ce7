import CRDKafka
@testable import Kafka
import Testing

@Suite("Kafka errors")
struct KafkaErrorTests {
    @Test("broker and network unavailability is retriable", arguments: [
        RD_KAFKA_RESP_ERR__TRANSPORT, RD_KAFKA_RESP_ERR__MSG_TIMED_OUT, RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN,
        RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REBALANCE_IN_PROGRESS,
        RD_KAFKA_RESP_ERR_NOT_COORDINATOR,
    ])
    func retriable(code: rd_kafka_resp_err_t) {
        let error = KafkaError(code: .delivery, responseError: code)
        #expect(error.isRetriable)
        #expect(!error.isFatal)
        #expect(error.librdkafkaCode == code.rawValue)
    }

    @Test("bad requests and fencing are not retriable", arguments: [
        RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE, RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED,
        RD_KAFKA_RESP_ERR__INVALID_ARG, RD_KAFKA_RESP_ERR_INVALID_PRODUCER_EPOCH,
    ])
    func permanent(code: rd_kafka_resp_err_t) {
        #expect(!KafkaError(code: .delivery, responseError: code).isRetriable)
    }

    @Test("a fatal error says so, with librdkafka's name and text")
    func fatal() {
        let error = KafkaError(code: .client, responseError: RD_KAFKA_RESP_ERR__FATAL, context: "producer")
        #expect(error.isFatal)
        #expect(error.librdkafkaName == "_FATAL")
        #expect(error.message.hasPrefix("producer: "))
        #expect(error.description.contains("(fatal)"))
        #expect(error.description.contains("KafkaError.client"))
    }

    @Test("an error of our own carries no librdkafka code")
    func ownError() {
        let error = KafkaError(code: .closed, message: "the producer is closed")
        #expect(error.librdkafkaCode == 0)
        #expect(error.librdkafkaName.isEmpty)
        #expect(error.description == "KafkaError.closed: the producer is closed")
    }
}
