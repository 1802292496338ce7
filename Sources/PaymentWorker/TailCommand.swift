import ArgumentParser
import Console
import Foundation
import Kafka
import WorkerRuntime

/// `payment-worker tail`: follows replies and error events, one readable line each.
struct TailCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "tail", abstract: "Follow replies and error events as they are published.")

    @Option(help: "Kafka bootstrap servers (PAYMENT_WORKER_BOOTSTRAP_SERVERS).")
    var bootstrapServers: String?
    @Option var resultsTopic = WorkerConfiguration.Topics().results
    @Option var errorsTopic = WorkerConfiguration.Topics().errors

    @Flag(help: "Start from the beginning of the topics rather than with new messages.")
    var fromBeginning = false

    @Flag(help: "Print reply bodies too, not only their headers.")
    var bodies = false

    func run() async throws {
        PaymentWorkerCommand.bootstrapLogging(level: .warning)
        let bootstrap = try toolBootstrapServers(bootstrapServers)
        var followers: [(topic: String, consumer: KafkaConsumer)] = []
        for topic in [resultsTopic, errorsTopic] {
            followers.append((topic, try await TopicReader(bootstrapServers: bootstrap, topic: topic).follower(fromStart: fromBeginning)))
        }
        // A script may send from now on: nothing it causes will be missed.
        FileHandle.standardError.write(Data("tail: following \(resultsTopic) and \(errorsTopic)\n".utf8))
        await withTaskGroup(of: Void.self) { group in
            for (topic, consumer) in followers {
                let isReply = topic == resultsTopic
                group.addTask {
                    for await batch in consumer.batches {
                        for message in batch {
                            // Unbuffered, one write per message: a pipe reader sees each at once.
                            FileHandle.standardOutput.write(Data((Self.line(for: message, isReply: isReply, withBody: bodies) + "\n").utf8))
                        }
                    }
                }
            }
        }
    }

    static func line(for message: KafkaConsumerMessage, isReply: Bool, withBody: Bool) -> String {
        let time = message.timestamp.map { KafkaTimestamp.iso8601(milliseconds: $0) } ?? "-"
        let body = String(decoding: message.value ?? [], as: UTF8.self)
        guard isReply else { return errorLine(time: time, body: body) }
        let headers = message.headers
        var line = "\(time)  reply  \(headers.string(named: "command") ?? "-")  \(headers.string(named: "status") ?? "-")"
        for name in ["idempotency-key", "correlation-id", "replayed"] {
            if let value = headers.string(named: name) { line += "  \(name)=\(value)" }
        }
        if withBody { line += "\n" + body }
        return line
    }

    /// An error event as `time  error  CODE  command  message  key=value...`; an event that is
    /// not the JSON of docs/contract.md §4 is shown as it is.
    static func errorLine(time: String, body: String) -> String {
        guard let event = try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any],
              let code = event["code"] as? String else { return "\(time)  error  \(body)" }
        var line = "\(time)  error  \(code)  \(event["command"] as? String ?? "-")  \(event["message"] as? String ?? "")"
        for (name, field) in [("idempotency-key", "idempotency_key"), ("correlation-id", "correlation_id")] {
            if let value = event[field] as? String { line += "  \(name)=\(value)" }
        }
        if let source = event["source"] as? [String: Any], let topic = source["topic"], let partition = source["partition"], let offset = source["offset"] {
            line += "  source=\(topic)/\(partition)/\(offset)"
        }
        return line
    }
}
