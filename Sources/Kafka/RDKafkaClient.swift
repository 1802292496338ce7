import CRDKafka
import Dispatch
import Logging
import Synchronization

/// What librdkafka's C callbacks reach through the client's opaque pointer.
final class KafkaClientContext: Sendable {
    let logger: Logger
    let errorHandler: (@Sendable (KafkaError) -> Void)?
    let deliveryTracker: DeliveryTracker?
    let rebalanceHandler: (any RebalanceCallbackHandler)?

    init(
        logger: Logger,
        errorHandler: (@Sendable (KafkaError) -> Void)?,
        deliveryTracker: DeliveryTracker? = nil,
        rebalanceHandler: (any RebalanceCallbackHandler)? = nil
    ) {
        self.logger = logger
        self.errorHandler = errorHandler
        self.deliveryTracker = deliveryTracker
        self.rebalanceHandler = rebalanceHandler
    }

    static func from(_ client: OpaquePointer?) -> KafkaClientContext? {
        guard let client, let opaque = rd_kafka_opaque(client) else { return nil }
        return Unmanaged<KafkaClientContext>.fromOpaque(opaque).takeUnretainedValue()
    }
}

/// Called on the consumer's poll thread, inside `rd_kafka_consumer_poll`, when the group
/// assigns or revokes partitions.
protocol RebalanceCallbackHandler: Sendable {
    func rebalance(
        client: OpaquePointer,
        event: rd_kafka_resp_err_t,
        partitions: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>
    )
}

/// Owns one `rd_kafka_t` and the context its callbacks see.
///
/// librdkafka's handle is thread-safe, which is what makes this `@unchecked Sendable`. Every
/// call that can block (flush, synchronous commit, committed-offset lookup, close, destroy)
/// goes through `runBlocking`, a serial dispatch queue of this client's, or runs on the
/// client's poll thread, never on Swift's cooperative pool.
final class RDKafkaClient: @unchecked Sendable {
    let handle: OpaquePointer
    let logger: Logger
    private let context: Unmanaged<KafkaClientContext>
    private let blockingQueue: DispatchQueue
    private let isAbandoned = Mutex(false)

    init(type: rd_kafka_type_t, properties: [String: String], context: KafkaClientContext) throws {
        let conf = try Self.makeConf(properties)
        let retainedContext = Unmanaged.passRetained(context)
        rd_kafka_conf_set_opaque(conf, retainedContext.toOpaque())
        Self.installCallbacks(conf, context: context)

        var errorText = [CChar](repeating: 0, count: 512)
        guard let handle = rd_kafka_new(type, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            retainedContext.release()
            throw KafkaError(code: .clientCreation, message: String(nulTerminated: errorText))
        }
        self.handle = handle
        self.context = retainedContext
        self.logger = context.logger
        self.blockingQueue = DispatchQueue(label: "kafka.blocking.\(properties["client.id"] ?? "client")")
    }

    /// Validates every property with librdkafka itself, so that a typo or a bad value is an
    /// error naming the property rather than a silent default.
    static func makeConf(_ properties: [String: String]) throws -> OpaquePointer {
        guard let conf = rd_kafka_conf_new() else {
            throw KafkaError(code: .configuration, message: "librdkafka could not allocate a configuration")
        }
        for (name, value) in properties.sorted(by: { $0.key < $1.key }) {
            var errorText = [CChar](repeating: 0, count: 512)
            let result = rd_kafka_conf_set(conf, name, value, &errorText, errorText.count)
            guard result == RD_KAFKA_CONF_OK else {
                rd_kafka_conf_destroy(conf)
                // librdkafka's text may quote the value; a secret's value is never shown.
                let detail: String
                if result == RD_KAFKA_CONF_UNKNOWN {
                    detail = "no such librdkafka configuration property"
                } else if KafkaConfiguration.isSecret(property: name) {
                    detail = "invalid value (not shown: the property holds a secret)"
                } else {
                    detail = String(nulTerminated: errorText)
                }
                throw KafkaError(code: .configuration, message: "configuration property '\(name)': \(detail)")
            }
        }
        return conf
    }

    private static func installCallbacks(_ conf: OpaquePointer, context: KafkaClientContext) {
        rd_kafka_conf_set_log_cb(conf) { client, level, facility, text in
            guard let context = KafkaClientContext.from(client), let text else { return }
            let facility = facility.map { String(cString: $0) } ?? ""
            context.logger.log(
                level: Logger.Level(syslogLevel: level),
                "\(String(cString: text))",
                metadata: ["kafka.facility": "\(facility)"]
            )
        }
        rd_kafka_conf_set_error_cb(conf) { client, code, reason, _ in
            guard let context = KafkaClientContext.from(client) else { return }
            var error = KafkaError(
                code: .client,
                responseError: rd_kafka_resp_err_t(rawValue: code),
                context: reason.map { String(cString: $0) }
            )
            if error.isFatal, let client {
                var fatalText = [CChar](repeating: 0, count: 512)
                let underlying = rd_kafka_fatal_error(client, &fatalText, fatalText.count)
                error = KafkaError(
                    code: .client,
                    message: "fatal: \(String(nulTerminated: fatalText))",
                    librdkafkaCode: underlying.rawValue,
                    isFatal: true
                )
            }
            context.logger.warning("librdkafka reported an error", metadata: ["error": "\(error)"])
            context.errorHandler?(error)
        }
        if context.deliveryTracker != nil {
            rd_kafka_conf_set_dr_msg_cb(conf) { client, message, _ in
                guard let message, let context = KafkaClientContext.from(client) else { return }
                context.deliveryTracker?.deliveryReported(message.pointee)
            }
        }
        if context.rebalanceHandler != nil {
            rd_kafka_conf_set_rebalance_cb(conf) { client, event, partitions, _ in
                guard let client, let partitions, let context = KafkaClientContext.from(client) else { return }
                context.rebalanceHandler?.rebalance(client: client, event: event, partitions: partitions)
            }
        }
    }

    /// Runs a blocking librdkafka call on this client's own queue and awaits its result.
    /// The closure keeps the client, and so the handle, alive until the call returns.
    func runBlocking<Result: Sendable>(
        _ body: @escaping @Sendable (OpaquePointer) throws -> Result
    ) async throws -> Result {
        try await withCheckedThrowingContinuation { continuation in
            blockingQueue.async {
                continuation.resume(with: Swift.Result { try body(self.handle) })
            }
        }
    }

    /// The handle is destroyed only when nothing refers to the client any more, so no call
    /// can ever reach a destroyed handle. Destroying joins librdkafka's threads, so it runs on
    /// a dispatch queue, not on whichever thread dropped the last reference.
    deinit {
        // See `abandon()`.
        guard !isAbandoned.withLock({ $0 }) else { return }
        let remains = DestroyedClient(handle: handle, context: context)
        Self.destroyQueue.async {
            rd_kafka_destroy(remains.handle)
            remains.context.release()
        }
    }

    /// Leaves the handle undestroyed: for a handle librdkafka would abort the process on
    /// destroying (see `ConsumerRebalanceCoordinator.isAwaitingFirstAssignment`). Its threads
    /// and memory stay until the process ends, which is what a worker shutting down does next.
    func abandon() {
        isAbandoned.withLock { $0 = true }
    }

    private static let destroyQueue = DispatchQueue(label: "kafka.destroy")
}

/// What `deinit` hands to the destroy queue; nothing else holds it by then.
private struct DestroyedClient: @unchecked Sendable {
    let handle: OpaquePointer
    let context: Unmanaged<KafkaClientContext>
}

extension Logger.Level {
    /// librdkafka logs with syslog levels.
    init(syslogLevel: Int32) {
        switch syslogLevel {
        case ...3: self = .error
        case 4: self = .warning
        case 5: self = .notice
        case 6: self = .info
        default: self = .debug
        }
    }
}

extension String {
    /// Text librdkafka wrote into an error buffer.
    init(nulTerminated buffer: [CChar]) {
        let bytes = buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self.init(decoding: bytes, as: UTF8.self)
    }
}
