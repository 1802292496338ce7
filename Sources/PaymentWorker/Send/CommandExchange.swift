import Foundation
import Gateway
import Kafka
import Logging

/// A client's side of the worker's contract: produces commands and hears the replies whose
/// correlation id starts with its own prefix, a reply in parts joined into one.
///
/// Replies are read from the results topic's end as it was before the first command went out,
/// outside any consumer group, so none can be missed and no older ones are read.
final class CommandExchange: Sendable {
    enum Event: Sendable {
        case reply(KafkaConsumerMessage)
        /// A quarter-second has passed: time to redraw progress and check the deadline.
        case tick
    }

    let commandsTopic: String
    let correlationPrefix: String
    private let producer: KafkaProducer
    private let consumer: KafkaConsumer

    init(bootstrapServers: String, commandsTopic: String, resultsTopic: String, correlationPrefix: String) async throws {
        let common = KafkaConfiguration(bootstrapServers: bootstrapServers.split(separator: ",").map(String.init), clientID: "payment-worker-send")
        let logger = Logger(label: "payment-worker.send")
        consumer = try await KafkaConsumer.fromEnd(
            of: [resultsTopic],
            configuration: KafkaConsumerConfiguration(common: common, groupID: "payment-worker-send-\(correlationPrefix)"),
            logger: logger)
        producer = try KafkaProducer(configuration: KafkaProducerConfiguration(common: common), logger: logger)
        self.commandsTopic = commandsTopic
        self.correlationPrefix = correlationPrefix
    }

    /// Produces the commands and waits for the broker's acknowledgement of each.
    func send(_ messages: [KafkaProducerMessage]) async throws {
        _ = try await producer.sendAll(messages)
    }

    /// Runs `body` with the stream of matching replies and ticks; closes both clients after.
    func withEvents<Result: Sendable>(_ body: (AsyncStream<Event>) async throws -> Result) async throws -> Result {
        let (events, continuation) = AsyncStream<Event>.makeStream()
        let consumer = self.consumer
        let prefix = correlationPrefix
        let reader = Task {
            var joiner = ReplyJoiner()
            for await batch in consumer.batches {
                for message in batch where message.headers.string(named: "correlation-id")?.hasPrefix(prefix) == true {
                    if let whole = joiner.add(message) { continuation.yield(.reply(whole)) }
                }
            }
        }
        let ticker = Task {
            while (try? await Task.sleep(for: .milliseconds(250))) != nil {
                continuation.yield(.tick)
            }
        }
        defer {
            ticker.cancel()
            continuation.finish()
        }
        do {
            let result = try await body(events)
            await close(reader)
            return result
        } catch {
            await close(reader)
            throw error
        }
    }

    private func close(_ reader: Task<Void, Never>) async {
        await producer.close()
        await consumer.close()
        await reader.value
    }
}
