import ArgumentParser
import Console
import Foundation
import Kafka
import WorkerRuntime

/// `payment-worker dlq list | replay`: what is in the dead-letter topic, why and when, and
/// putting messages back on the commands topic once their cause is mended.
struct DLQCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dlq", abstract: "Inspect and replay the dead-letter topic.", subcommands: [List.self, Replay.self])

    struct Topics: ParsableArguments {
        @Option(help: "Kafka bootstrap servers (PAYMENT_WORKER_BOOTSTRAP_SERVERS).")
        var bootstrapServers: String?
        @Option var commandsTopic = WorkerConfiguration.Topics().commands
        @Option var errorsTopic = WorkerConfiguration.Topics().errors
        @Option var dlqTopic = WorkerConfiguration.Topics().dlq

        func bootstrap() throws -> String { try toolBootstrapServers(bootstrapServers) }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per dead letter: where, when, which command, why.")

        @OptionGroup var topics: Topics

        func run() async throws {
            PaymentWorkerCommand.bootstrapLogging(level: .warning)
            let bootstrap = try topics.bootstrap()
            let letters = try await TopicReader(bootstrapServers: bootstrap, topic: topics.dlqTopic).readToEnd()
            let reasons = DeadLetterReasons(try await TopicReader(bootstrapServers: bootstrap, topic: topics.errorsTopic).readToEnd())
            for letter in letters {
                let headers = letter.headers
                var line = "\(letter.partition):\(letter.offset)"
                if let time = letter.timestamp { line += "  " + KafkaTimestamp.iso8601(milliseconds: time) }
                line += "  command=\(headers.string(named: "command") ?? "-")"
                if let key = letter.key { line += "  key=\(String(decoding: key, as: UTF8.self))" }
                if let idempotencyKey = headers.string(named: "idempotency-key") { line += "  idempotency-key=\(idempotencyKey)" }
                if let correlationId = headers.string(named: "correlation-id") { line += "  correlation-id=\(correlationId)" }
                line += "  " + (reasons.reason(for: letter) ?? "reason: not found in \(topics.errorsTopic)")
                print(line)
            }
            print("\(letters.count) message\(letters.count == 1 ? "" : "s") in \(topics.dlqTopic)")
        }
    }

    struct Replay: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Put dead letters back on the commands topic, key, body and headers as they were.",
            discussion: """
                A letter without an idempotency-key header is given one naming its place in the DLQ, so replaying \
                it twice is answered from the idempotency record the second time.
                """)

        @OptionGroup var topics: Topics

        @Option(name: .customLong("message"), help: "PARTITION:OFFSET of a letter to replay (repeatable).")
        var messages: [String] = []

        @Flag(help: "Replay every letter now in the DLQ.")
        var all = false

        func validate() throws {
            guard all != !messages.isEmpty else { throw ValidationError("give --all or one or more --message PARTITION:OFFSET") }
        }

        func run() async throws {
            PaymentWorkerCommand.bootstrapLogging(level: .warning)
            let bootstrap = try topics.bootstrap()
            var wanted: Set<DLQPlace> = []
            for message in messages {
                guard let place = DLQPlace(message) else { throw ValidationError("--message takes PARTITION:OFFSET, not '\(message)'") }
                wanted.insert(place)
            }
            let letters = try await TopicReader(bootstrapServers: bootstrap, topic: topics.dlqTopic).readToEnd()
                .filter { all || wanted.contains(DLQPlace(partition: $0.partition, offset: $0.offset)) }
            let missing = wanted.subtracting(letters.map { DLQPlace(partition: $0.partition, offset: $0.offset) })
            guard missing.isEmpty else {
                throw ValidationError("not in \(topics.dlqTopic): \(missing.map(\.description).sorted().joined(separator: ", "))")
            }
            let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(
                common: KafkaConfiguration(bootstrapServers: bootstrap.split(separator: ",").map(String.init), clientID: "payment-worker-dlq")))
            let replays = letters.map { DeadLetterReplay.command(replaying: $0, onto: topics.commandsTopic) }
            _ = try await producer.sendAll(replays)
            await producer.close()
            print("replayed \(replays.count) message\(replays.count == 1 ? "" : "s") onto \(topics.commandsTopic)")
        }
    }
}
