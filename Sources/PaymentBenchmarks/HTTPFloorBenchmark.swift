import ArgumentParser
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// What Hummingbird alone takes for the gateway's requests: the same paths and methods, the
/// body read, a generated correlation id and an UpdatePayments-sized CSV answer, but no Kafka
/// and no waiting. `ops/bench-gateway.sh` drives it with wrk as it drives the gateway, so the
/// gateway's CPU a request splits into this floor and what its Kafka round trip adds.
struct HTTPFloorBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "http-floor",
        abstract: "Serve the gateway's routes with a fixed answer and nothing behind them, until SIGTERM: the HTTP floor under the gateway.")

    @Option(help: "Port on 127.0.0.1; 0 picks a free one, printed on stderr as 'http floor listening port=N'.")
    var port = 0

    // Valid field names, so never nil.
    static let correlationId = HTTPField.Name("X-Correlation-Id")!
    static let replyStatus = HTTPField.Name("X-Reply-Status")!
    static let answer = ByteBuffer(string: "LineId,PaymentId,PaymentImportedRef,OrderId,OrderRef,Errors\n1,1001,Ref456,12345,Ref123,\n")

    func run() async throws {
        var logger = Logger(label: "http-floor")
        logger.logLevel = .error
        let router = Router()
        for method in [HTTPRequest.Method.get, .post, .put] {
            router.on(RouterPath("/cloud/APILite/APILite.ashx"), method: method) { (request: Request, _: BasicRequestContext) async throws -> Response in
                var body = try await request.body.collect(upTo: 16 << 20)
                _ = body.readBytes(length: body.readableBytes)
                var headers: HTTPFields = [.contentType: "text/csv"]
                headers[Self.correlationId] = String(UInt64.random(in: .min ... .max), radix: 16)
                headers[Self.replyStatus] = "ok"
                return Response(status: .ok, headers: headers, body: .init(byteBuffer: Self.answer))
            }
        }
        let application = Application(
            router: router,
            configuration: .init(address: .hostname("127.0.0.1", port: port), serverName: "http-floor"),
            onServerRunning: { channel in
                // Unbuffered, so a script waiting on the line sees it at once.
                FileHandle.standardError.write(Data("http floor listening port=\(channel.localAddress?.port ?? 0)\n".utf8))
            },
            logger: logger)
        try await application.runService()
    }
}
