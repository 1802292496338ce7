@testable import Kafka
import Testing

@Suite("Kafka configuration")
struct KafkaConfigurationTests {
    private let common = KafkaConfiguration(bootstrapServers: ["a:9092", "b:9092"], clientID: "worker-1")

    @Test("producers are idempotent with acks=all unless told otherwise")
    func producerDefaults() {
        let properties = KafkaProducerConfiguration(common: common).librdkafkaProperties()
        #expect(properties["enable.idempotence"] == "true")
        #expect(properties["acks"] == "all")
        #expect(properties["bootstrap.servers"] == "a:9092,b:9092")
        #expect(properties["client.id"] == "worker-1")
        #expect(properties["linger.ms"] == "5")
        #expect(properties["message.timeout.ms"] == "300000")
    }

    @Test("pass-through properties reach librdkafka and win over typed fields")
    func passThrough() {
        var configured = common
        configured.properties = ["security.protocol": "SASL_SSL", "linger.ms": "20"]
        let properties = KafkaProducerConfiguration(common: configured).librdkafkaProperties()
        #expect(properties["security.protocol"] == "SASL_SSL")
        #expect(properties["linger.ms"] == "20")
    }

    @Test("a consumer never stores offsets on its own, whatever the pass-through says")
    func consumerOffsetsAreManual() {
        var configured = common
        configured.properties = ["enable.auto.offset.store": "true", "enable.auto.commit": "false"]
        var consumer = KafkaConsumerConfiguration(common: configured, groupID: "payments")
        consumer.commitInterval = .milliseconds(250)
        let properties = consumer.librdkafkaProperties()
        #expect(properties["enable.auto.offset.store"] == "false")
        #expect(properties["enable.auto.commit"] == "true")
        #expect(properties["auto.commit.interval.ms"] == "250")
        #expect(properties["group.id"] == "payments")
        #expect(properties["partition.assignment.strategy"] == "cooperative-sticky")
        #expect(properties["auto.offset.reset"] == "earliest")
    }

    @Test("every property is checked by librdkafka itself", arguments: [
        ("linger.ms", "-5"), ("acks", "sometimes"), ("no.such.property", "1"), ("compression.type", "zip"),
    ])
    func librdkafkaValidates(name: String, value: String) {
        let error = #expect(throws: KafkaError.self) { try RDKafkaClient.makeConf([name: value]) }
        #expect(error?.code == .configuration)
        #expect(error?.message.contains("'\(name)'") == true)
    }

    @Test("secrets are recognised and redacted")
    func secrets() {
        for name in ["sasl.password", "ssl.key.password", "sasl.oauthbearer.client.secret", "ssl.keystore.password"] {
            #expect(KafkaConfiguration.isSecret(property: name), "\(name)")
        }
        for name in ["bootstrap.servers", "sasl.username", "linger.ms"] {
            #expect(!KafkaConfiguration.isSecret(property: name), "\(name)")
        }
        let redacted = KafkaConfiguration.redacted(["sasl.password": "hunter2", "sasl.username": "alice"])
        #expect(redacted == ["sasl.password": "[redacted]", "sasl.username": "alice"])
    }

    @Test("durations convert to whole milliseconds")
    func durations() {
        #expect(Duration.seconds(3).milliseconds == 3_000)
        #expect(Duration.milliseconds(1_500).milliseconds == 1_500)
        #expect(Duration.microseconds(2_999).milliseconds == 2)
    }
}
