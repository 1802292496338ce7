import ArgumentParser
import Foundation
import Kafka
import Logging

/// Produces N UpdatePayments commands of M lines to a running worker's broker and measures
/// until the last reply: commands and lines per second.
struct WorkerBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker", abstract: "End-to-end: N commands of M lines through a running worker.")

    @Option(help: "Bootstrap servers of the worker's broker.")
    var bootstrapServers: String

    @Option var commands = 1_000
    @Option var lines = 1

    @Option(help: "A label for the result line.")
    var label = "worker"

    func run() async throws {
        var logger = Logger(label: "bench")
        logger.logLevel = .error
        let common = KafkaConfiguration(bootstrapServers: [bootstrapServers], clientID: "payment-bench")
        let run = Workload.runTag
        let assigned = KafkaAssignmentSignal()
        let replies = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(common: common, groupID: "bench-\(run)"), topics: ["payments.results"],
            logger: logger, rebalanceListener: assigned)
        // The clock starts once replies can be read: joining the group is not the worker's time.
        _ = try await assigned.partitions(within: .seconds(60))
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(common: common), logger: logger)
        try await producer.prepare(topics: ["payments.commands"])

        // Built before the clock starts: the benchmark measures the worker, not this program.
        let messages = (0..<commands).map { index in
            var body = "OrderRef,PaymentImportedRef,Amount\n"
            for line in 0..<lines { body += "Ref123,\(run)-\(label)-C\(index)-L\(line),\(line % 997).25\n" }
            return KafkaProducerMessage(
                topic: "payments.commands", key: Array("order-\(index % 64)".utf8), value: Array(body.utf8),
                headers: [KafkaHeader(name: "command", string: "UpdatePayments"), KafkaHeader(name: "apiid", string: "123"),
                          KafkaHeader(name: "apikey", string: "12345"), KafkaHeader(name: "correlation-id", string: "\(run)-\(index)")])
        }
        let clock = ContinuousClock()
        let cpuAtStart = MachineCPU.now()
        let start = clock.now
        let sending = Task { try await producer.sendAll(messages) }
        var seen = Set<String>()
        var failed = 0
        var firstReply: ContinuousClock.Instant?
        for await batch in replies.batches {
            firstReply = firstReply ?? clock.now
            for reply in batch {
                guard let id = reply.headers.string(named: "correlation-id"), id.hasPrefix("\(run)-") else { continue }
                if seen.insert(id).inserted, reply.headers.string(named: "status") != "ok" { failed += 1 }
            }
            if seen.count == commands { break }
        }
        let elapsed = clock.now - start
        let cpuAtEnd = MachineCPU.now()
        _ = try await sending.value
        let sent = clock.now - start
        let seconds = elapsed.seconds
        print(String(format: "%@: %d commands of %d lines in %.2f s = %.0f commands/s, %.0f lines/s (%d not ok)",
                     label, commands, lines, seconds, Double(commands) / seconds, Double(commands * lines) / seconds, failed))
        print(String(format: "%@: first reply after %.2f s; all commands acknowledged by the broker after %.2f s",
                     label, ((firstReply ?? start) - start).seconds, sent.seconds))
        if let cpuAtStart, let cpuAtEnd {
            print(String(format: "%@: machine CPU busy %.0f%% of %d cores while measured (worker, broker and this benchmark)",
                         label, 100 * cpuAtEnd.busyShare(since: cpuAtStart), ProcessInfo.processInfo.activeProcessorCount))
        }
        await producer.close()
        await replies.close()
    }
}
