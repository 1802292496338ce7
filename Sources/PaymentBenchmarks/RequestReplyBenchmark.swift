import ArgumentParser
import Foundation
import Kafka
import Logging
import Synchronization

/// What the HTTP gateway is measured against: the same commands sent straight to Kafka by
/// `connections` clients, each sending one and waiting for its reply (matched by
/// correlation id on the results topic read from its end, outside any group, as `send` and
/// the gateway do) before the next, for `duration`. Prints requests/s and latency p50/p99.
struct RequestReplyBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "request-reply", abstract: "Closed-loop commands straight over Kafka: requests/s and latency.")

    @Option(help: "Bootstrap servers of the worker's broker.")
    var bootstrapServers: String

    @Option(help: "GetPayments or UpdatePayments (one new payment a request).")
    var command = "GetPayments"

    @Option(help: "Clients sending at once.")
    var connections = 1

    @Option(help: "Seconds to run.")
    var duration = 10

    @Option(name: .customLong("kafka-property"), help: "A librdkafka property, name=value (repeatable), as the gateway takes them.")
    var kafkaProperties: [String] = []

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let properties = kafkaProperties.reduce(into: [String: String]()) { properties, property in
            let parts = property.split(separator: "=", maxSplits: 1)
            if parts.count == 2 { properties[String(parts[0])] = String(parts[1]) }
        }
        let common = KafkaConfiguration(bootstrapServers: [bootstrapServers], clientID: "payment-bench", properties: properties)
        let run = Workload.runTag
        let consumer = try await KafkaConsumer.fromEnd(
            of: ["payments.results"], configuration: KafkaConsumerConfiguration(common: common, groupID: "bench-\(run)"), logger: logger)
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(common: common), logger: logger)
        try await producer.prepare(topics: ["payments.commands"])
        let waiting = Waiting()
        let reader = Task {
            for await batch in consumer.batches {
                for reply in batch {
                    if let id = reply.headers.string(named: "correlation-id"), id.hasPrefix("\(run)-") { waiting.arrived(id) }
                }
            }
        }
        let clock = ContinuousClock()
        let end = clock.now + .seconds(duration)
        let command = self.command
        let latencies = try await withThrowingTaskGroup(of: [Duration].self) { group in
            for client in 0..<connections {
                group.addTask {
                    var latencies: [Duration] = []
                    var sent = 0
                    while clock.now < end {
                        sent += 1
                        let id = "\(run)-\(client)-\(sent)"
                        let body = command == "GetPayments"
                            ? "where=PaymentImportedRef%3D'Ref456'"
                            : "OrderRef,PaymentImportedRef,Amount\nRef123,K\(id),1\n"
                        let message = KafkaProducerMessage(
                            topic: "payments.commands", value: Array(body.utf8),
                            headers: [KafkaHeader(name: "command", string: command), KafkaHeader(name: "apiid", string: "123"),
                                      KafkaHeader(name: "apikey", string: "12345"), KafkaHeader(name: "correlation-id", string: id)])
                        let started = clock.now
                        async let reply: Void = waiting.wait(for: id)
                        _ = try await producer.send(message)
                        await reply
                        latencies.append(clock.now - started)
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: [Duration]()) { $0 += $1 }
        }
        reader.cancel()
        await producer.close()
        await consumer.close()
        let sorted = latencies.sorted()
        func percentile(_ share: Double) -> Double {
            guard !sorted.isEmpty else { return 0 }
            return sorted[min(sorted.count - 1, Int(Double(sorted.count) * share))].seconds * 1_000
        }
        print(String(format: "RESULT %.0f %.2f %.2f 0", Double(sorted.count) / Double(duration), percentile(0.5), percentile(0.99)))
    }
}

/// Clients waiting for their replies by correlation id; a reply may come before its client
/// starts to wait.
private final class Waiting: Sendable {
    private let state = Mutex<(waiters: [String: CheckedContinuation<Void, Never>], early: Set<String>)>(([:], []))

    func wait(for id: String) async {
        await withCheckedContinuation { continuation in
            let ready = state.withLock { state in
                if state.early.remove(id) != nil { return true }
                state.waiters[id] = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func arrived(_ id: String) {
        let waiter = state.withLock { state in
            guard let waiter = state.waiters.removeValue(forKey: id) else {
                state.early.insert(id)
                return nil as CheckedContinuation<Void, Never>?
            }
            return waiter
        }
        waiter?.resume()
    }
}
