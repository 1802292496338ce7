import Foundation
import HTTPTypes
import Hummingbird
import Kafka
import Logging
import Metrics
import NIOCore
import ServiceLifecycle
import Synchronization

/// `payment-worker gateway` (docs/contract.md §8): the seeds' HTTP APIs in front of Kafka. Each
/// request becomes one command; its reply, read from the results topic's end outside any
/// group and matched by correlation id, is the response. It stores nothing: a restart loses
/// no command (it is in Kafka), and a client polls its `Location` or retries with its
/// idempotency key.
public struct Gateway: Service {
    let configuration: GatewayConfiguration
    let logger: Logger
    let prometheus: @Sendable () -> [UInt8]

    public init(configuration: GatewayConfiguration, logger: Logger, metricsText: @escaping @Sendable () -> [UInt8]) {
        self.configuration = configuration
        self.logger = logger
        prometheus = metricsText
    }

    public func run() async throws {
        let configuration = self.configuration
        let logger = self.logger
        var producerConfiguration = KafkaProducerConfiguration(common: configuration.kafka)
        // A command that cannot reach the broker soon is a 503, not a request held for minutes.
        producerConfiguration.messageTimeout = configuration.produceTimeout
        let producer = try KafkaProducer(configuration: producerConfiguration, logger: logger)
        try await producer.prepare(topics: [configuration.commandsTopic], timeout: .seconds(10))
        let consumer = try await KafkaConsumer.fromEnd(
            of: [configuration.resultsTopic],
            configuration: KafkaConsumerConfiguration(common: configuration.kafka, groupID: "payment-gateway-\(UUID().uuidString)"),
            logger: logger)
        let board = ReplyBoard(capacity: configuration.maxPending, keep: configuration.keepReplies)
        let handler = GatewayHandler(
            configuration: configuration, producer: producer, board: board,
            metrics: GatewayMetrics(commands: configuration.routes.commands), logger: logger)
        let router = Router()
        for method in [HTTPRequest.Method.get, .post, .put] {
            router.on(RouterPath(ForwardedCommand.cin7Path), method: method) { request, _ in
                await handler.cin7(request)
            }
        }
        for (path, command) in configuration.routes.posts {
            router.post(RouterPath(path)) { request, _ in await handler.post(command, request) }
        }
        router.get("/replies/:id") { _, context in handler.reply(id: context.parameters.get("id") ?? "") }
        router.get("/health/live") { _, _ in GatewayHandler.json(.ok, #"{"status":"live"}"#) }
        let brokerReachable = BrokerReachability()
        router.get("/health/ready") { _, _ in
            let ready = producer.fatalError == nil && brokerReachable.reachable
            return GatewayHandler.json(ready ? .ok : .serviceUnavailable, #"{"status":"\#(ready ? "ready" : "not ready")"}"#)
        }
        let metricsText = prometheus
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: metricsText())))
        }
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "payment-gateway"),
            onServerRunning: { channel in
                logger.notice("gateway listening", metadata: [
                    "host": "\(configuration.host)", "port": "\(channel.localAddress?.port ?? configuration.port)",
                ])
            },
            logger: logger)
        do {
            try await serve(application, producer: producer, consumer: consumer, board: board, brokerReachable: brokerReachable)
        } catch {
            await producer.close()
            throw error
        }
        // Closed once nothing uses it any more: the readiness probe has ended with the group.
        await producer.close()
    }

    private func serve(
        _ application: some ApplicationProtocol, producer: KafkaProducer, consumer: KafkaConsumer, board: ReplyBoard,
        brokerReachable: BrokerReachability
    ) async throws {
        let configuration = self.configuration
        try await withThrowingDiscardingTaskGroup { group in
            // Readiness follows the broker: its metadata is asked for every few seconds.
            group.addTask {
                while !Task.isCancelled {
                    let reachable = (try? await producer.prepare(topics: [configuration.commandsTopic], timeout: .seconds(2))) != nil
                    brokerReachable.reachable = reachable
                    guard (try? await Task.sleep(for: .seconds(3))) != nil else { return }
                }
            }
            group.addTask { await board.expireWaits() }
            group.addTask {
                // A reply's parts come together: what is incomplete past the reply timeout never will be.
                var joiner = ReplyJoiner(keep: max(configuration.replyTimeout, .seconds(60)))
                for await batch in consumer.batches {
                    for message in batch {
                        if let whole = joiner.add(message) { board.deliver(whole) }
                    }
                }
            }
            // However the server ends, the readiness probe and the wait timer stop and the
            // consumer closes, which ends the reader's loop.
            do {
                try await application.run()
            } catch {
                group.cancelAll()
                await consumer.close()
                throw error
            }
            group.cancelAll()
            await consumer.close()
        }
    }
}

/// Answers the gateway's routes.
struct GatewayHandler: Sendable {
    let configuration: GatewayConfiguration
    let producer: KafkaProducer
    let board: ReplyBoard
    let metrics: GatewayMetrics
    let logger: Logger

    func cin7(_ request: Request) async -> Response {
        await measured {
            await forward(request) { body throws(GatewayFailure) in
                try ForwardedCommand.cin7(method: request.method, query: request.uri.query ?? "", body: body, routes: configuration.routes)
            }
        }
    }

    func post(_ command: String, _ request: Request) async -> Response {
        await measured { await forward(request) { body in ForwardedCommand.posted(command, body: body) } }
    }

    /// Counts the response by status code and times it; gauges the requests waiting.
    private func measured(_ handle: () async -> Response) async -> Response {
        let started = ContinuousClock.now
        let response = await handle()
        metrics.answered(status: response.status.code, took: ContinuousClock.now - started, waiting: board.count)
        return response
    }

    func reply(id: String) -> Response {
        switch board.lookup(id) {
        case .arrived(let reply): return Self.response(to: reply, correlationId: id)
        case .pending: return Self.accepted(id)
        case .unknown: return Self.failure(GatewayFailure(.notFound, code: "NOT_FOUND", "no reply is known by that id"), correlationId: nil)
        }
    }

    private func forward(_ request: Request, _ command: ([UInt8]) throws(GatewayFailure) -> ForwardedCommand) async -> Response {
        let correlationId = request.headers[.correlationId].flatMap { $0.isEmpty ? nil : $0 } ?? Self.newCorrelationId()
        do {
            guard correlationId.utf8.count <= 255 else {
                throw GatewayFailure(.badRequest, code: "MALFORMED", "X-Correlation-Id is longer than 255 characters")
            }
            let body: [UInt8]
            do {
                var buffer = try await request.body.collect(upTo: configuration.maxBodyBytes)
                body = buffer.readBytes(length: buffer.readableBytes) ?? []
            } catch {
                throw GatewayFailure(.contentTooLarge, code: "TOO_LARGE", "the body is over \(configuration.maxBodyBytes) bytes")
            }
            var command = try command(body)
            let messageKey = request.headers[.messageKey]
            if configuration.chunkedImportCommands.contains(command.name),
               command.body.count > configuration.kafka.maxValueBytes(keyBytes: messageKey?.utf8.count ?? 0) {
                // One key for every chunk, so they are applied in order; the idempotency key's,
                // so that a retry's chunks follow the first attempt's in the same partition.
                let idempotencyKey = request.headers[.idempotencyKey]
                let chunked = try ChunkedRequest(
                    command, messageKey: messageKey ?? idempotencyKey.map { "import/\($0)" } ?? correlationId,
                    idempotencyKey: idempotencyKey, correlationId: correlationId, configuration: configuration)
                try await send(chunked)
            } else {
                if let key = request.headers[.idempotencyKey] { command.headers.append(KafkaHeader(name: "idempotency-key", string: key)) }
                command.headers.append(KafkaHeader(name: "correlation-id", string: correlationId))
                try register([correlationId])
                let message = KafkaProducerMessage(
                    topic: configuration.commandsTopic, key: messageKey.map { Array($0.utf8) }, value: command.body, headers: command.headers)
                try await produce([message], of: command.name, waitingAs: [correlationId])
            }
            if request.headers[.prefer]?.contains("respond-async") == true { return Self.accepted(correlationId) }
            guard let reply = await board.wait(for: correlationId, timeout: configuration.replyTimeout) else {
                return Self.accepted(correlationId)
            }
            return Self.response(to: reply, correlationId: correlationId)
        } catch let failure as GatewayFailure {
            return Self.failure(failure, correlationId: correlationId)
        } catch {
            return Self.failure(GatewayFailure(.internalServerError, code: "INTERNAL", "the request could not be handled"), correlationId: correlationId)
        }
    }

    /// Takes a place on the reply board for each id, or for none.
    func register(_ ids: [String]) throws(GatewayFailure) {
        for (index, id) in ids.enumerated() {
            let registration = board.register(id)
            guard registration != .registered else { continue }
            for registered in ids[..<index] { board.remove(registered) }
            switch registration {
            case .taken: throw GatewayFailure(.conflict, code: "DUPLICATE", "a request with this X-Correlation-Id is waiting or answered")
            default: throw GatewayFailure(.serviceUnavailable, code: "INTERNAL", "too many requests are waiting for replies", retryAfter: 1)
            }
        }
    }

    /// Produces `messages` in order, waiting for the broker's acknowledgements. A message the
    /// broker refuses for its size is `413`, never a 503 that a client would retry forever.
    func produce(_ messages: [KafkaProducerMessage], of command: String, waitingAs ids: [String]) async throws(GatewayFailure) {
        do {
            _ = try await producer.sendAll(messages)
        } catch {
            for id in ids { board.remove(id) }
            logger.warning("command not produced", metadata: ["command": "\(command)", "error": "\(error)"])
            if let error = error as? KafkaError, error.isMessageTooLarge {
                throw GatewayFailure(.contentTooLarge, code: "TOO_LARGE",
                                     "the command is larger than a Kafka message (message.max.bytes \(configuration.kafka.messageMaxBytes)); nothing was applied")
            }
            let sent = messages.count == 1 ? "nothing was sent" : "some chunks may have been sent; retry with the same Idempotency-Key"
            throw GatewayFailure(.serviceUnavailable, code: "INTERNAL", "the broker did not take the command; \(sent)", retryAfter: 5)
        }
        metrics.produced(command, count: messages.count)
    }

    /// 128 random bits as 32 hex digits: knowing one is the capability to fetch its reply.
    static func newCorrelationId() -> String {
        (0..<2).map { _ in
            let hex = String(UInt64.random(in: .min ... .max), radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    static func response(to reply: KafkaConsumerMessage, correlationId: String) -> Response {
        var headers: HTTPFields = [.contentType: reply.headers.string(named: "content-type") ?? "application/octet-stream"]
        headers[.correlationId] = correlationId
        headers[.replyStatus] = reply.headers.string(named: "status") ?? ""
        if reply.headers.string(named: "replayed") == "true" { headers[.idempotentReplayed] = "true" }
        return Response(status: ReplyResponse.status(of: reply), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: reply.value ?? [])))
    }

    static func accepted(_ correlationId: String) -> Response {
        var headers: HTTPFields = [.location: "/replies/\(correlationId)", .contentType: "application/json"]
        headers[.correlationId] = correlationId
        return Response(status: .accepted, headers: headers, body: .init(byteBuffer: ByteBuffer(string: #"{"status":"accepted"}"#)))
    }

    static func failure(_ failure: GatewayFailure, correlationId: String?) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let correlationId { headers[.correlationId] = correlationId }
        if let seconds = failure.retryAfter { headers[.retryAfter] = String(seconds) }
        let body = GatewayFailure.body(code: failure.code, message: failure.message)
        return Response(status: failure.status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }

    static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}

extension HTTPField.Name {
    // Names of fields this gateway reads or writes: valid tokens, so never nil.
    static let correlationId = Self("X-Correlation-Id")!
    static let idempotencyKey = Self("Idempotency-Key")!
    static let messageKey = Self("X-Message-Key")!
    static let prefer = Self("Prefer")!
    static let replyStatus = Self("X-Reply-Status")!
    static let idempotentReplayed = Self("Idempotent-Replayed")!
}

/// Whether the broker answered the last metadata request: readiness.
final class BrokerReachability: Sendable {
    private let state = Mutex(true)

    var reachable: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
