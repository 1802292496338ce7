import CRDKafka
@testable import Kafka
import Logging
import Testing
@testable import WorkerRuntime

@Suite("ProducerSlot")
struct ProducerSlotTests {
    static let quiet: Logger = {
        var logger = Logger(label: "producer-slot-test")
        logger.logLevel = .critical
        return logger
    }()

    @Test("a producer librdkafka declares failed for good is replaced once, and the new one delivers")
    func replacesAFatalProducer() async throws {
        let broker = try KafkaDevBroker()
        try broker.createTopic("slot", partitions: 1)
        let configuration = KafkaProducerConfiguration(common: KafkaConfiguration(bootstrapServers: [broker.bootstrapServers], clientID: "slot-test"))
        let slot = try ProducerSlot(logger: Self.quiet) { try KafkaProducer(configuration: configuration, logger: Self.quiet) }
        let message = KafkaProducerMessage(topic: "slot", key: Array("k".utf8), value: Array("v".utf8))
        let first = slot.current
        let firstProducer = try #require(first.producer as? KafkaProducer)
        _ = try await firstProducer.send(message)
        #expect(slot.replaceIfFatal(first.generation) == false, "a healthy producer stays")

        // What a persistent broker restarted under an idempotent producer makes librdkafka do.
        #expect(rd_kafka_test_fatal_error(firstProducer.client.handle, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, "drill") == RD_KAFKA_RESP_ERR_NO_ERROR)
        #expect(first.producer.fatalError != nil)
        await #expect(throws: KafkaError.self) { try await firstProducer.send(message) }

        #expect(slot.replaceIfFatal(first.generation) == true)
        let second = slot.current
        #expect(second.generation == first.generation + 1)
        #expect(slot.isReplaced(first.generation))
        // Every lane that saw the old producer fail asks; only the first replaces it.
        #expect(slot.replaceIfFatal(first.generation) == true)
        #expect(slot.current.generation == second.generation)

        let report = try await #require(second.producer as? KafkaProducer).send(message)
        #expect(report.offset == 1, "the new producer appends after what the old one delivered")
        await slot.close(timeout: .seconds(1))
        await broker.stop()
    }
}
