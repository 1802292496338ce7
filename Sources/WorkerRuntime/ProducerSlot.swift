import Kafka
import Logging
import Synchronization

/// The worker's producer, replaced when librdkafka declares it unusable (a fatal idempotence
/// error, such as `OUT_OF_ORDER_SEQUENCE_NUMBER` after a persistent broker restarted): a
/// fatal producer never sends again, so retrying on it would wait forever. What the old one
/// had not delivered fails and is published again on the new one.
final class ProducerSlot: Sendable {
    struct Current: Sendable {
        let producer: any ReplyProducer
        let generation: Int
    }

    private let make: @Sendable () throws -> any ReplyProducer
    private let state: Mutex<Current>
    private let logger: Logger

    init(logger: Logger, make: @escaping @Sendable () throws -> any ReplyProducer) throws {
        self.make = make
        self.logger = logger
        state = Mutex(Current(producer: try make(), generation: 0))
    }

    var current: Current { state.withLock { $0 } }

    /// Whether `generation` has been replaced.
    func isReplaced(_ generation: Int) -> Bool {
        current.generation > generation
    }

    /// Replaces the producer of `generation` if it is still the current one and has failed
    /// for good; true when the caller should try again on the current producer.
    func replaceIfFatal(_ generation: Int) -> Bool {
        let replaced: (old: any ReplyProducer, error: KafkaError)? = state.withLock { current in
            guard current.generation == generation, let error = current.producer.fatalError else { return nil }
            do {
                let old = current.producer
                current = Current(producer: try make(), generation: generation + 1)
                return (old, error)
            } catch {
                logger.error("could not make a new producer", metadata: ["error": "\(error)"])
                return nil
            }
        }
        guard let replaced else { return isReplaced(generation) }
        logger.error("the producer failed for good; replaced it, publishing again what it had not delivered", metadata: [
            "error": "\(replaced.error)", "generation": "\(generation + 1)",
        ])
        // Closing fails what it still holds, so those sends are made again on the new one.
        Task { await replaced.old.close(timeout: .zero) }
        return true
    }

    func close(timeout: Duration) async {
        await current.producer.close(timeout: timeout)
    }
}
