import Foundation
import Hummingbird
import Logging
import NIOCore
import PaymentsDomain
import Prometheus
import ServiceLifecycle

/// The HTTP endpoint operators scrape and probe: `/metrics` (Prometheus text format),
/// `/health/live` (the process answers) and `/health/ready` (200 when consuming with the store
/// and broker reachable, 503 with the failing checks otherwise).
public struct OperationsEndpoint: Service {
    let host: String
    let port: Int
    let registry: PrometheusCollectorRegistry
    let health: WorkerHealth
    let logger: Logger

    public init(host: String, port: Int, registry: PrometheusCollectorRegistry, health: WorkerHealth, logger: Logger) {
        self.host = host
        self.port = port
        self.registry = registry
        self.health = health
        self.logger = logger
    }

    public func run() async throws {
        let router = Router()
        router.get("/metrics") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: registry.emitToBuffer())))
        }
        router.get("/health/live") { _, _ -> Response in
            let liveness = health.liveness
            return liveness.live ? Self.json(.ok, #"{"status":"live"}"#)
                : Self.json(.serviceUnavailable, #"{"status":"stuck","reason":\#(JSONText.string(liveness.reason))}"#)
        }
        router.get("/health/ready") { _, _ -> Response in
            let checks = health.checks
            let ready = checks.allSatisfy(\.passing)
            let fields = checks.map { #""\#($0.check.rawValue)":"\#($0.passing ? "ok" : "failing")""# }.joined(separator: ",")
            let reasons = checks.filter { !$0.passing && !$0.reason.isEmpty }
                .map { "\(JSONText.string($0.check.rawValue)):\(JSONText.string($0.reason))" }.joined(separator: ",")
            return Self.json(ready ? .ok : .serviceUnavailable,
                             #"{"status":"\#(ready ? "ready" : "not ready")","checks":{\#(fields)},"reasons":{\#(reasons)}}"#)
        }
        let logger = self.logger
        let application = Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "payment-worker"),
            onServerRunning: { channel in
                // The port actually bound: port 0 asks the system for a free one.
                logger.notice("operations endpoint listening", metadata: [
                    "host": "\(host)", "port": "\(channel.localAddress?.port ?? port)",
                ])
            },
            logger: logger)
        try await application.run()
    }

    private static func json(_ status: HTTPResponse.Status, _ body: String) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: body)))
    }
}
