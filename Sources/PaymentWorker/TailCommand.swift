import ArgumentParser
import Foundation
import Kafka

/// `payment-worker tail`: follows replies and error events, one readable line each.
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tail", abstract: "Follow replies and error events as they are published.")

    @Option(help: "Kafka bootstrap servers (PAYMENT_WORKER_BOOTSTRAP_SERVERS).")
    var bootstrapServers: String?
    @Option var resultsTopic = "payments.results"
    @Option var errorsTopic = "payments.errors"

    @Flag(help: "Start from the beginning of the topics rather than with new messages.")
    var fromBeginning = false

    @Flag(help: "Print reply bodies too, not only their headers.")
    var bodies = false

    func run() async throws {
        PaymentWorkerCommand.bootstrapLogging(level: .warning)
        let bootstrap = try toolBootstrapServers(bootstrapServers)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for topic in [resultsTopic, errorsTopic] {
                group.addTask {
                    try await TopicReader(bootstrapServers: bootstrap, topic: topic).follow(fromStart: fromBeginning) { message in
                        print(Self.line(for: message, isReply: topic == resultsTopic, withBody: bodies))
                    }
                }
            }
            try await group.waitForAll()
        }
    }

    static func line(for message: KafkaConsumerMessage, isReply: Bool, withBody: Bool) -> String {
        let time = message.timestamp.map { KafkaTimestamp.iso8601(milliseconds: $0) } ?? "-"
        let body = String(decoding: message.value ?? [], as: UTF8.self)
        guard isReply else { return "\(time)  error  \(body)" }
        let headers = message.headers
        var line = "\(time)  reply  \(headers.string(named: "command") ?? "-")  \(headers.string(named: "status") ?? "-")"
        for name in ["idempotency-key", "correlation-id", "replayed"] {
            if let value = headers.string(named: name) { line += "  \(name)=\(value)" }
        }
        if withBody { line += "\n" + body }
        return line
    }
}
