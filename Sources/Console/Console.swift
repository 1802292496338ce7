import Foundation
import Hummingbird
import Kafka
import Logging
import NIOCore
import ServiceLifecycle
import StatusReport

/// `payment-worker console` (docs/contract.md §9): a web console for the people who run the
/// workers. It follows the status topic for the workers' reports and reads bounded windows of
/// the errors, DLQ, commands and results topics, outside any group; it stores nothing, so any
/// number may run.
public struct Console: Service {
    let configuration: ConsoleConfiguration
    let logger: Logger

    public init(configuration: ConsoleConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        let configuration = self.configuration
        let logger = self.logger
        let producer = try KafkaProducer(configuration: KafkaProducerConfiguration(common: configuration.kafka), logger: logger)
        let board = WorkerBoard(history: configuration.history)
        let since = Int64(Date().addingTimeInterval(-TimeInterval(configuration.history.components.seconds)).timeIntervalSince1970 * 1000)
        let status: KafkaConsumer
        do {
            try await producer.prepare(topics: [configuration.topics.commands], timeout: configuration.readDeadline)
            status = try await KafkaConsumer.assigned(
                to: [configuration.topics.status], from: .time(millisecondsSince1970: since),
                configuration: KafkaConsumerConfiguration(common: configuration.kafka, groupID: "payment-console-status"),
                logger: logger, timeout: configuration.readDeadline
            ).consumer
        } catch {
            await producer.close()
            throw error
        }
        let handler = ConsoleHandler(
            configuration: configuration, access: OperatorAccess(tokenHash: configuration.tokenHash, sessionLifetime: configuration.sessionLifetime),
            board: board, reads: ConsoleReads(configuration: configuration, logger: logger),
            replay: DLQReplay(configuration: configuration, producer: producer, logger: logger), logger: logger)
        let application = Application(
            router: handler.router(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "payment-console"),
            onServerRunning: { channel in
                logger.notice("console listening", metadata: [
                    "host": "\(configuration.host)", "port": "\(channel.localAddress?.port ?? configuration.port)",
                ])
            },
            logger: logger)
        try await withThrowingDiscardingTaskGroup { group in
            group.addTask {
                for await batch in status.batches {
                    for message in batch {
                        guard let value = message.value,
                              let report = try? WorkerStatusReport.decoder.decode(WorkerStatusReport.self, from: Data(value)) else { continue }
                        let at = message.timestamp.map { Date(timeIntervalSince1970: Double($0) / 1000) } ?? Date()
                        board.add(report, at: at)
                    }
                }
            }
            defer { group.cancelAll() }
            do {
                try await application.run()
            } catch {
                await status.close()
                await producer.close()
                throw error
            }
            await status.close()
        }
        await producer.close()
    }
}

/// What the overview shows, and `/api/overview` answers.
struct Overview: Codable, Sendable {
    struct Rates: Codable, Sendable {
        var bucketSeconds: Double
        var commandsPerSecond: [Double]
        var errorsPerSecond: [Double]
    }

    struct PartitionLag: Codable, Sendable {
        var topic: String
        var partition: Int32
        var instanceId: String
        var lag: Int64?
        var paused: Bool
    }

    struct StoreHealth: Codable, Sendable {
        var instanceId: String
        var kind: String
        var healthy: Bool
        var reason: String?
    }

    var workersUp: Int
    var workersGone: Int
    var rates: Rates
    var partitions: [PartitionLag]
    /// Nil when the DLQ's size could not be read.
    var dlqDepth: Int64?
    var stores: [StoreHealth]
}

/// A worker as `/api/workers` answers it: its last report and whether it is gone.
struct WorkerEntry: Codable, Sendable {
    var report: WorkerStatusReport
    var lastReportAt: String
    var gone: Bool
}

/// Answers the console's routes.
struct ConsoleHandler: Sendable {
    let configuration: ConsoleConfiguration
    let access: OperatorAccess
    let board: WorkerBoard
    let reads: ConsoleReads
    let replay: DLQReplay
    let logger: Logger

    func router() -> Router<ConsoleRequestContext> {
        let router = Router(context: ConsoleRequestContext.self)
        router.add(middleware: SecurityHeadersMiddleware())
        router.get("/healthz") { _, _ in ConsoleResponses.text(.ok, "ok") }
        router.get("/static/console.css") { _, _ in Self.asset(ConsoleAssets.stylesheet, type: "text/css; charset=utf-8") }
        router.get("/static/console.js") { _, _ in Self.asset(ConsoleAssets.script, type: "text/javascript; charset=utf-8") }
        router.get("/login") { _, _ in ConsoleResponses.html(ConsolePages.login(failed: false)) }
        router.post("/login") { request, _ in try await login(request) }

        let operatorOnly = router.group().add(middleware: OperatorAuthenticationMiddleware(access: access))
        operatorOnly.post("/logout") { _, _ in
            var response = ConsoleResponses.redirect(to: "/login")
            response.setCookie(Cookie(name: OperatorAccess.sessionCookie, value: "", maxAge: 0, path: "/",
                secure: configuration.secureCookie, httpOnly: true, sameSite: .strict))
            return response
        }
        operatorOnly.get("/") { _, context in
            ConsoleResponses.html(ConsolePages.overview(await overview(), csrf: csrf(context)))
        }
        operatorOnly.get("/workers") { _, context in
            ConsoleResponses.html(ConsolePages.workers(board.workers(), now: Date(), csrf: csrf(context)))
        }
        operatorOnly.get("/errors") { request, context in
            let query = FormFields(request.uri.query ?? "")
            let filter = ErrorFilter(code: query.first("code"), command: query.first("command"), apiid: query.first("apiid"))
            return try await answer(context) {
                ConsolePages.errors(try await reads.errors(filter: filter, before: query.first("before").flatMap(PageCursor.init)),
                                    filter: filter, csrf: csrf(context))
            }
        }
        operatorOnly.get("/dlq") { request, context in
            let before = FormFields(request.uri.query ?? "").first("before").flatMap(PageCursor.init)
            return try await answer(context) { ConsolePages.dlq(try await reads.dlq(before: before), csrf: csrf(context)) }
        }
        operatorOnly.get("/dlq/:partition/:offset") { _, context in
            try await answer(context) {
                guard let partition = context.parameters.get("partition", as: Int32.self),
                      let offset = context.parameters.get("offset", as: Int64.self),
                      let place = DLQPlace(checkedPartition: partition, offset: offset) else {
                    throw AskedAmiss(status: .badRequest, message: "a DLQ message is named /dlq/PARTITION/OFFSET")
                }
                guard let found = try await reads.deadLetter(at: place) else {
                    throw AskedAmiss(status: .notFound, message: "the DLQ holds no message \(place)")
                }
                return ConsolePages.deadLetter(found.message, record: found.record, csrf: csrf(context))
            }
        }
        operatorOnly.get("/dlq/replay") { request, context in
            let query = FormFields(request.uri.query ?? "")
            return try await answer(context) {
                // The confirmation names each message, and what it posts is that list: a
                // message that comes later is not replayed unseen.
                let letters = try await chosenLetters(all: query.first("all") == "1", places: query.all("m"))
                return ConsolePages.confirmReplay(try await reads.records(of: letters), csrf: csrf(context))
            }
        }
        operatorOnly.post("/dlq/replay") { request, context in
            var request = request
            let form = FormFields(String(buffer: try await request.collectBody(upTo: ConsoleResponses.maxFormBytes)))
            return try await answer(context) {
                let letters = try await chosenLetters(all: false, places: form.all("m"))
                logger.notice("replaying DLQ messages", metadata: ["count": "\(letters.count)"])
                return ConsolePages.replayed(try await replay.replay(letters), csrf: csrf(context))
            }
        }
        operatorOnly.get("/trace") { request, context in
            let id = FormFields(request.uri.query ?? "").first("id") ?? ""
            return try await answer(context) {
                ConsolePages.trace(id.isEmpty ? nil : try await reads.trace(id: id), id: id, csrf: csrf(context))
            }
        }

        operatorOnly.get("/api/overview") { _, _ in ConsoleResponses.json(await overview()) }
        operatorOnly.get("/api/workers") { _, _ in
            ConsoleResponses.json(["workers": board.workers().map {
                WorkerEntry(report: $0.report, lastReportAt: $0.at.formatted(.iso8601), gone: $0.gone)
            }])
        }
        operatorOnly.get("/api/errors") { request, _ in
            let query = FormFields(request.uri.query ?? "")
            let filter = ErrorFilter(code: query.first("code"), command: query.first("command"), apiid: query.first("apiid"))
            return try await api { try await reads.errors(filter: filter, before: query.first("before").flatMap(PageCursor.init)) }
        }
        operatorOnly.get("/api/dlq") { request, _ in
            try await api { try await reads.dlq(before: FormFields(request.uri.query ?? "").first("before").flatMap(PageCursor.init)) }
        }
        operatorOnly.get("/api/trace") { request, _ in
            guard let id = FormFields(request.uri.query ?? "").first("id"), !id.isEmpty else {
                return ConsoleResponses.json(.badRequest, ["error": "give ?id=CORRELATION_ID_OR_IDEMPOTENCY_KEY"])
            }
            return try await api { try await reads.trace(id: id) }
        }
        operatorOnly.post("/api/dlq/replay") { request, _ in
            var request = request
            let body = try await request.collectBody(upTo: ConsoleResponses.maxFormBytes)
            guard let asked = try? JSONDecoder().decode(ReplayRequest.self, from: Data(buffer: body)),
                  (asked.all == true) != !(asked.messages ?? []).isEmpty else {
                return ConsoleResponses.json(.badRequest, ["error": #"give {"messages":[{"partition":P,"offset":O}, ...]} or {"all":true}"#])
            }
            return try await api {
                let letters = try await chosenLetters(all: asked.all == true, places: (asked.messages ?? []).map(\.description))
                logger.notice("replaying DLQ messages", metadata: ["count": "\(letters.count)"])
                return ["replays": try await replay.replay(letters)]
            }
        }
        return router
    }

    struct ReplayRequest: Decodable {
        var messages: [DLQPlace]?
        var all: Bool?
    }

    /// A mistake in what was asked for: the operator's to mend, answered 400 or 404.
    struct AskedAmiss: Error {
        var status: HTTPResponse.Status
        var message: String
    }

    /// The DLQ messages a replay names: every one (the newest `maxReplays`), or those at
    /// `PARTITION:OFFSET` places, all of which must be in the DLQ.
    func chosenLetters(all: Bool, places: [String]) async throws -> [KafkaConsumerMessage] {
        if all { return try await reads.latestDeadLetters(limit: configuration.maxReplays) }
        var wanted: Set<DLQPlace> = []
        for text in places {
            guard let place = DLQPlace(text) else {
                throw AskedAmiss(status: .badRequest, message: "a DLQ message is PARTITION:OFFSET, not '\(text)'")
            }
            wanted.insert(place)
        }
        guard !wanted.isEmpty else { throw AskedAmiss(status: .badRequest, message: "select at least one DLQ message") }
        guard wanted.count <= configuration.maxReplays else {
            throw AskedAmiss(status: .badRequest, message: "at most \(configuration.maxReplays) messages at once")
        }
        let letters = try await reads.deadLetters(at: wanted)
        let missing = wanted.subtracting(letters.map { DLQPlace(partition: $0.partition, offset: $0.offset) })
        guard missing.isEmpty else {
            throw AskedAmiss(status: .notFound, message: "the DLQ holds no message \(missing.map(\.description).sorted().joined(separator: ", "))")
        }
        return letters
    }

    func overview() async -> Overview {
        let now = Date()
        let workers = board.workers(now: now)
        let up = workers.filter { !$0.gone }
        let rates = board.rates(now: now)
        let depth = try? await reads.dlqDepth()
        return Overview(
            workersUp: up.count, workersGone: workers.count - up.count,
            rates: Overview.Rates(bucketSeconds: rates.bucketSeconds, commandsPerSecond: rates.commands, errorsPerSecond: rates.errors),
            partitions: up.flatMap { worker in
                worker.report.partitions.map {
                    Overview.PartitionLag(topic: $0.topic, partition: $0.partition, instanceId: worker.report.instanceId, lag: $0.lag, paused: $0.paused)
                }
            }.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) },
            dlqDepth: depth,
            stores: up.map {
                Overview.StoreHealth(instanceId: $0.report.instanceId, kind: $0.report.store.kind, healthy: $0.report.store.healthy, reason: $0.report.store.reason)
            })
    }

    func csrf(_ context: ConsoleRequestContext) -> String? {
        context.session.map(access.csrfToken)
    }

    /// A page, or what went wrong in words: an operator's mistake, or Kafka not answering.
    func answer(_ context: ConsoleRequestContext, _ page: () async throws -> String) async throws -> Response {
        do {
            return ConsoleResponses.html(try await page())
        } catch let amiss as AskedAmiss {
            return ConsoleResponses.html(amiss.status, ConsolePages.layout("Not done", tab: nil, csrf: csrf(context),
                                                                           "<p class=\"problem\">\(escaped(amiss.message)).</p>"))
        } catch {
            logger.warning("a console read failed", metadata: ["error": "\(error)"])
            return ConsoleResponses.html(.serviceUnavailable, ConsolePages.layout("Kafka did not answer", tab: nil, csrf: csrf(context),
                "<p class=\"problem\">\(escaped(String(describing: error)))</p><p>Reload to try again.</p>"))
        }
    }

    func api(_ body: () async throws -> some Encodable) async throws -> Response {
        do {
            return ConsoleResponses.json(try await body())
        } catch let amiss as AskedAmiss {
            return ConsoleResponses.json(amiss.status, ["error": amiss.message])
        } catch {
            logger.warning("a console read failed", metadata: ["error": "\(error)"])
            return ConsoleResponses.json(.serviceUnavailable, ["error": String(describing: error)])
        }
    }

    func login(_ request: Request) async throws -> Response {
        var request = request
        let form = FormFields(String(buffer: try await request.collectBody(upTo: ConsoleResponses.maxFormBytes)))
        guard let token = form.first("token"), access.accepts(token: token) else {
            logger.notice("console login refused")
            return ConsoleResponses.html(.unauthorized, ConsolePages.login(failed: true))
        }
        var response = ConsoleResponses.redirect(to: "/")
        response.setCookie(Cookie(
            name: OperatorAccess.sessionCookie, value: access.newSession(), maxAge: Int(configuration.sessionLifetime.components.seconds),
            path: "/", secure: configuration.secureCookie, httpOnly: true, sameSite: .strict))
        return response
    }

    static func asset(_ text: String, type: String) -> Response {
        Response(status: .ok, headers: [.contentType: type, .cacheControl: "max-age=300"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }
}
