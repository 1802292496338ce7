import ArgumentParser
import Foundation
import Kafka
import Logging

/// `payment-worker send`: produces one command, waits for its reply, prints the reply body.
/// Exit status 0 for `ok`, 1 otherwise.
struct SendCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "send", abstract: "Send one command from FILE (or standard input) and print its reply.")

    @Option(help: "UpdateOrders, UpdatePayments, GetPayments, DeletePayments or CancelPayment.")
    var command: String

    @Option var apiid: String?
    @Option var apikey: String?

    @Option(help: "Message key (use the OrderRef: commands with one key are handled in order).")
    var key: String?

    @Option(help: "Idempotency key (default: the message's position).")
    var idempotencyKey: String?

    @Option(help: "Kafka bootstrap servers (PAYMENT_WORKER_BOOTSTRAP_SERVERS).")
    var bootstrapServers: String?

    @Option var commandsTopic = "payments.commands"
    @Option var resultsTopic = "payments.results"

    @Option(help: "Seconds to wait for the reply.")
    var timeout = 60

    @Argument(help: "The body; standard input when absent.")
    var file: String?

    func run() async throws {
        PaymentWorkerCommand.bootstrapLogging(level: .warning)
        let bootstrap = try toolBootstrapServers(bootstrapServers)
        let body = try file.map { try Data(contentsOf: URL(fileURLWithPath: $0)) } ?? FileHandle.standardInput.readDataToEndOfFile()
        let correlationId = UUID().uuidString
        let common = KafkaConfiguration(bootstrapServers: bootstrap.split(separator: ",").map(String.init), clientID: "payment-worker-send")

        // A group of its own reading the results topic from its start, so the reply cannot be
        // missed however fast it comes; it is recognised by its correlation id.
        let consumer = try KafkaConsumer(
            configuration: KafkaConsumerConfiguration(common: common, groupID: "payment-worker-send-\(correlationId)"),
            topics: [resultsTopic])

        var headers = [KafkaHeader(name: "command", string: command), KafkaHeader(name: "correlation-id", string: correlationId)]
        if let apiid { headers.append(KafkaHeader(name: "apiid", string: apiid)) }
        if let apikey { headers.append(KafkaHeader(name: "apikey", string: apikey)) }
        if let idempotencyKey { headers.append(KafkaHeader(name: "idempotency-key", string: idempotencyKey)) }
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(common: common))
        try await producer.send(KafkaProducerMessage(topic: commandsTopic, key: key.map { Array($0.utf8) }, value: Array(body), headers: headers))
        await producer.close()

        let reply = try await withThrowingTaskGroup(of: KafkaConsumerMessage?.self) { group in
            group.addTask {
                for await batch in consumer.batches {
                    if let reply = batch.first(where: { $0.headers.string(named: "correlation-id") == correlationId }) { return reply }
                }
                return nil
            }
            group.addTask {
                try await Task.sleep(for: .seconds(timeout))
                return nil
            }
            defer { group.cancelAll() }
            return try await group.next() ?? nil
        }
        await consumer.close()
        guard let reply else {
            FileHandle.standardError.write(Data("send: no reply within \(timeout) s\n".utf8))
            throw ExitCode(1)
        }
        FileHandle.standardOutput.write(Data(reply.value ?? []))
        let status = reply.headers.string(named: "status") ?? "error"
        if status != "ok" {
            FileHandle.standardError.write(Data("send: status \(status)\n".utf8))
            throw ExitCode(1)
        }
    }
}
