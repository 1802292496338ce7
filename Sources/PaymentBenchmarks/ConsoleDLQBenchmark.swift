import ArgumentParser
import Console
import Foundation
import Kafka
import Logging

/// The console reads a bounded window of a topic, never the whole of it: the first DLQ page
/// of a DLQ of 100 000 messages should open about as fast as that of a DLQ of ten. Both are
/// filled on an in-process dev broker (with as many error events), then the page the DLQ
/// page shows is read several times.
struct ConsoleDLQBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "console-dlq", abstract: "Time the console's first DLQ page for a DLQ of 10 and of 100 000 messages.")

    @Option(help: "Messages in the large DLQ.")
    var large = 100_000

    @Option(help: "Reads of each first page.")
    var runs = 7

    func run() async throws {
        var logger = Logger(label: "bench.console")
        logger.logLevel = .error
        let broker = try KafkaDevBroker(logger: logger)
        let kafka = KafkaConfiguration(bootstrapServers: [broker.bootstrapServers], clientID: "payment-bench-console")
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(common: kafka), logger: logger)
        var lines: [String] = []
        for (name, count) in [("small", 10), ("large", large)] {
            try broker.createTopic("\(name).dlq", partitions: 3)
            try broker.createTopic("\(name).errors", partitions: 3)
            try await fill(producer, dlq: "\(name).dlq", errors: "\(name).errors", count: count)
            var configuration = ConsoleConfiguration(
                kafka: kafka,
                topics: .init(commands: "\(name).commands", results: "\(name).results", errors: "\(name).errors", dlq: "\(name).dlq", status: "\(name).status"),
                tokenHash: [])
            configuration.pageSize = 50
            let reads = ConsoleReads(configuration: configuration, logger: logger)
            var seconds: [Double] = []
            var shown = 0
            for _ in 0..<runs {
                let clock = ContinuousClock()
                var page: ConsoleReads.DLQPage?
                let elapsed = try await clock.measure { page = try await reads.dlq(before: nil) }
                seconds.append(elapsed.seconds)
                shown = page?.messages.count ?? 0
            }
            let sorted = seconds.sorted()
            lines.append(String(
                format: "first DLQ page of %d messages (%d shown): min %.1f ms, median %.1f ms, max %.1f ms over %d reads",
                count, shown, (sorted.first ?? 0) * 1000, median(seconds) * 1000, (sorted.last ?? 0) * 1000, runs))
        }
        // What a page that read the whole topic would cost, for comparison.
        var consumer = KafkaConsumerConfiguration(common: kafka, groupID: "payment-bench-console")
        consumer.maxBatchSize = 1_000
        consumer.maxBufferedMessages = 10_000
        let whole = consumer
        let wholeRead = try await ContinuousClock().measure {
            _ = try await KafkaTopicWindow.read(topic: "large.dlq", configuration: whole, deadline: .seconds(120)) { _, held in held }
        }
        lines.append(String(format: "reading all %d messages of that DLQ instead: %.0f ms", large, wholeRead.seconds * 1000))
        await producer.close()
        await broker.stop()
        lines.forEach { print($0) }
    }

    /// `count` dead letters shaped like an UpdatePayments command, and an error event for each.
    private func fill(_ producer: KafkaProducer, dlq: String, errors: String, count: Int) async throws {
        let body = Array((Workload.header + "\n" + "Ref123,R-1,1,Direct Credit,1,10.00,2013-09-16 1:00:00,1,TX1,ok\n").utf8)
        for start in stride(from: 0, to: count, by: 10_000) {
            let range = start..<min(count, start + 10_000)
            let letters = range.map { index in
                KafkaProducerMessage(topic: dlq, key: Array("acct-\(index % 64)".utf8), value: body, headers: [
                    KafkaHeader(name: "command", string: "UpdatePayments"), KafkaHeader(name: "correlation-id", string: "c-\(index)"),
                    KafkaHeader(name: "idempotency-key", string: "k-\(index)"),
                ])
            }
            let events = range.map { index in
                KafkaProducerMessage(topic: errors, key: Array("acct-\(index % 64)".utf8), value: Array(
                    #"{"code":"INTERNAL","message":"retries exhausted","command":"UpdatePayments","idempotency_key":"k-\#(index)","correlation_id":"c-\#(index)","apiid":"123","source":{"topic":"payments.commands","partition":0,"offset":\#(index)},"at":"2026-12-06T00:00:00Z"}"#.utf8))
            }
            _ = try await producer.sendAll(letters + events)
        }
    }
}
