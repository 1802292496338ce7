import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// `payment-worker gateway` as a process in front of a worker and the dev broker, driven
/// over HTTP with the seeds' own requests (docs/contract.md §8).
@Suite("HTTP gateway", .timeLimit(.minutes(3)))
struct GatewayTests {
    static let seedInsert = "OrderRef,PaymentImportedRef,Active,Method,Direction,Amount,Date,TransactionAuthorized,TransactionRef\nRef123,Ref456,1,Direct Credit,1,123.50,2013-09-16 1:00:00,1,ABC123456789\n"
    static let seedCancel = #"{"token":"B8D7A12E9F91AFADE914B7330AFD08CB","payment_identifier":{"reference_number":"Ref456"},"type_identifier":{"name":"Payment Cancellation"},"category_identifier":{"name":"Cancellation Because of Mistake"}}"#

    @Test("the seeds' examples over HTTP give the documents' answers; a retry with its Idempotency-Key is replayed; each refusal has its status")
    func seedExamples() async throws {
        try await WorkerHarness.with { harness in
            try await Self.withGateway(harness) { gateway in
                let insert = try await gateway.send("POST", "action=UpdatePayments", body: Self.seedInsert, headers: ["Idempotency-Key": "insert-1"])
                #expect(insert.status == 200 && insert.body == "LineId,PaymentId,PaymentImportedRef,OrderId,OrderRef,Errors\n1,1001,Ref456,12345,Ref123,\n")
                #expect(insert.headers["X-Reply-Status"] == "ok" && insert.headers["Content-Type"] == "text/csv")
                #expect(insert.headers["Idempotent-Replayed"] == nil)
                let retry = try await gateway.send("POST", "action=UpdatePayments", body: Self.seedInsert, headers: ["Idempotency-Key": "insert-1"])
                #expect(retry.status == 200 && retry.body == insert.body && retry.headers["Idempotent-Replayed"] == "true")

                let update = try await gateway.send("PUT", "action=UpdatePayments", body: "PaymentId,TransactionAuthorized,TransactionRef\n1001,1,ABC123456789\n")
                #expect(update.status == 200 && update.body == "LineId,PaymentId,PaymentImportedRef,OrderId,OrderRef,Errors\n1,1001,Ref456,12345,Ref123,\n")
                let get = try await gateway.send("GET", "action=GetPayments&where=OrderRef%3D'Ref123'", headers: ["X-Correlation-Id": "get-1"])
                #expect(get.status == 200 && get.headers["X-Correlation-Id"] == "get-1")
                #expect(get.body.hasPrefix("PaymentId,PaymentImportedRef,OrderId,OrderRef,CreatedDate,Active,Method,Direction,Amount,Date,TransactionAuthorized,TransactionRef,Comments\n1001,Ref456,12345,Ref123,"))

                let cancel = try await gateway.send("POST", path: "/payments/cancel", body: Self.seedCancel)
                #expect(cancel.status == 200 && cancel.headers["Content-Type"] == "application/json")
                #expect(cancel.body.contains(#""code":"OK""#) && cancel.body.contains(#""life_cycle_state":"CANCELLED""#))
                let again = try await gateway.send("POST", path: "/payments/cancel", body: Self.seedCancel)
                #expect(again.status == 409, "a CANCELLED payment is INVALID_STATE: \(again.body)")

                let delete = try await gateway.send("GET", "action=DeletePayments&where=OrderRef%3D'Ref123'")
                #expect(delete.status == 200 && delete.body == "PaymentId,PaymentImportedRef,OrderId,OrderRef\n1001,Ref456,12345,Ref123\n")

                #expect(try await gateway.send("GET", "action=GetPayments", credentials: "apiid=123&apikey=wrong").status == 401)
                #expect(try await gateway.send("GET", "action=GetPayments&where=Colour%3D'red'").status == 400)
                // An action no plugin serves is UNKNOWN_COMMAND whatever the method; a known one with the wrong method is 405.
                let unknown = try await gateway.send("GET", "action=Transfer%22")
                #expect(unknown.status == 400 && unknown.body.contains(#""code":"UNKNOWN_COMMAND""#), "\(unknown.status) \(unknown.body)")
                #expect((try? JSONSerialization.jsonObject(with: Data(unknown.body.utf8))) != nil, "a quote in the action keeps the body JSON: \(unknown.body)")
                #expect(try await gateway.send("POST", "action=Transfer", body: "a\n1\n").status == 400, "UNKNOWN_COMMAND")
                #expect(try await gateway.send("POST", "action=GetPayments").status == 405)
                #expect(try await gateway.send("POST", path: "/payments/cancel", body: #"{"token":"B8D7A12E9F91AFADE914B7330AFD08CB","payment_identifier":{"id":"999"},"type_identifier":{"id":"T1"}}"#).status == 404)
                let conflict = try await gateway.send("POST", "action=UpdatePayments", body: "OrderRef,PaymentImportedRef,Amount\nRef123,Other,1\n", headers: ["Idempotency-Key": "insert-1"])
                #expect(conflict.status == 409 && conflict.body.contains("IDEMPOTENCY_CONFLICT"))
                let large = try await gateway.send("POST", "action=UpdatePayments", body: String(repeating: "x", count: 2_000))
                #expect(large.status == 413, "over --max-body-bytes, nothing produced")
                #expect(!gateway.process.standardError.contains("apikey=12345") && !gateway.process.standardError.contains("B8D7A12E"))
                let metrics = try await gateway.send("GET", path: "/metrics")
                let answers = [insert, retry, update, get, cancel, again, delete, conflict, large, metrics]
                #expect(!answers.contains { response in
                    (response.body + response.headers.values.joined()).contains("B8D7A12E9F91AFADE914B7330AFD08CB")
                        || (response.body + response.headers.values.joined()).contains("apikey")
                }, "no token or apikey in a response or a metric")
            }
        }
    }

    @Test("a reply that comes after the timeout, or under Prefer: respond-async, is 202 with a Location that later gives the reply")
    func acceptedThenFetched() async throws {
        try await WorkerHarness.with { harness in
            try await Self.withGateway(harness, timeoutSeconds: 0) { gateway in
                let accepted = try await gateway.send("POST", "action=UpdatePayments", body: Self.seedInsert)
                #expect(accepted.status == 202)
                let location = try #require(accepted.headers["Location"])
                #expect(location.hasPrefix("/replies/") && location.count == "/replies/".count + 32)
                let fetched = try await eventually("the reply at \(location)") { () -> Response? in
                    let response = try await gateway.send("GET", path: location)
                    return response.status == 200 ? response : nil
                }
                #expect(fetched.body == "LineId,PaymentId,PaymentImportedRef,OrderId,OrderRef,Errors\n1,1001,Ref456,12345,Ref123,\n")
                #expect(try await gateway.send("GET", path: "/replies/00000000000000000000000000000000").status == 404)
            }
            try await Self.withGateway(harness) { gateway in
                let async = try await gateway.send("GET", "action=GetPayments&fields=PaymentId", headers: ["Prefer": "respond-async"])
                #expect(async.status == 202)
                let location = try #require(async.headers["Location"])
                let fetched = try await eventually("the reply at \(location)") { () -> Response? in
                    let response = try await gateway.send("GET", path: location)
                    return response.status == 200 ? response : nil
                }
                #expect(fetched.body == "PaymentId\n1001\n")
                let health = try await gateway.send("GET", path: "/health/ready")
                #expect(health.status == 200)
                let metrics = try await gateway.send("GET", path: "/metrics")
                #expect(metrics.body.contains(#"payment_gateway_commands_total{command="GetPayments"} 1"#))
            }
        }
    }

    @Test("the broker away is 503 with Retry-After within the produce timeout, not a hang; the gateway still stops on SIGTERM")
    func brokerAway() async throws {
        try await WorkerHarness.with { harness in
            try await Self.withGateway(harness) { gateway in
                #expect(try await gateway.send("GET", "action=GetPayments").status == 200)
                harness.broker.signal(SIGSTOP)
                defer { harness.broker.signal(SIGCONT) }
                let clock = ContinuousClock()
                let started = clock.now
                let away = try await gateway.send("POST", "action=UpdatePayments", body: Self.seedInsert)
                #expect(away.status == 503 && away.headers["Retry-After"] != nil, "\(away.status) \(away.body)")
                #expect(clock.now - started < .seconds(20), "answered within the produce timeout, not held")
                _ = try await eventually("not ready while the broker is away") { () -> Bool? in
                    try await gateway.send("GET", path: "/health/ready").status == 503 ? true : nil
                }
                harness.broker.signal(SIGCONT)
                _ = try await eventually("ready again") { () -> Bool? in
                    try await gateway.send("GET", path: "/health/ready").status == 200 ? true : nil
                }
            }
        }
    }

    @Test("1 000 concurrent requests through two gateways side by side: each answered with its own reply, every payment made once")
    func concurrentThroughTwoGateways() async throws {
        try await WorkerHarness.with { harness in
            try await Self.withGateway(harness) { first in
                try await Self.withGateway(harness) { second in
                    let answers = try await withThrowingTaskGroup(of: (Int, Response).self) { group in
                        for index in 0..<1_000 {
                            let gateway = index.isMultiple(of: 2) ? first : second
                            group.addTask {
                                let body = "OrderRef,PaymentImportedRef,Amount\nRef123,C-\(index),1\n"
                                return (index, try await gateway.send("POST", "action=UpdatePayments", body: body, headers: ["X-Message-Key": "k\(index % 16)"]))
                            }
                        }
                        return try await group.reduce(into: [Int: Response]()) { $0[$1.0] = $1.1 }
                    }
                    #expect(answers.count == 1_000)
                    let wrong = answers.filter { index, response in response.status != 200 || !response.body.contains(",C-\(index),") }
                    #expect(wrong.isEmpty, "\(wrong.prefix(3))")
                    let all = try await first.send("GET", "action=GetPayments&fields=PaymentImportedRef")
                    #expect(Set(all.body.split(separator: "\n").dropFirst()).count == 1_000)
                    #expect(all.body.split(separator: "\n").count == 1_001, "none made twice")
                }
            }
        }
    }

    @Test("a request whose gateway was killed before answering, retried with its Idempotency-Key through a new gateway, is applied once and answered as replayed")
    func retryAfterGatewayRestart() async throws {
        try await WorkerHarness.with { harness in
            // The first gateway stops waiting at once, so its request is in Kafka when it is killed.
            try await Self.withGateway(harness, timeoutSeconds: 0, stopping: false) { gateway in
                let accepted = try await gateway.send("POST", "action=UpdatePayments", body: Self.seedInsert, headers: ["Idempotency-Key": "restart-1"])
                #expect(accepted.status == 202)
                gateway.process.kill9IfRunning()
                _ = try await gateway.process.waitForExit(timeout: .seconds(20))
            }
            try await Self.withGateway(harness) { gateway in
                let retry = try await gateway.send("POST", "action=UpdatePayments", body: Self.seedInsert, headers: ["Idempotency-Key": "restart-1"])
                #expect(retry.status == 200 && retry.headers["Idempotent-Replayed"] == "true", "\(retry.status) \(retry.headers)")
                #expect(retry.body == "LineId,PaymentId,PaymentImportedRef,OrderId,OrderRef,Errors\n1,1001,Ref456,12345,Ref123,\n")
                let all = try await gateway.send("GET", "action=GetPayments&fields=PaymentId")
                #expect(all.body == "PaymentId\n1001\n", "applied once")
            }
        }
    }

    @Test("two gateways and two workers on PostgreSQL, one worker killed mid-stream: each request retried with its Idempotency-Key until answered, every payment made once")
    func twoWorkersOneKilled() async throws {
        try await WorkerHarness.withPostgres { harness, url, others in
            others.add(try await WorkerHarness.startWorker(bootstrap: harness.bootstrap, store: url))
            try await Self.withGateway(harness, timeoutSeconds: 5) { first in
                try await Self.withGateway(harness, timeoutSeconds: 5) { second in
                    let requests = 300
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for client in 0..<16 {
                            group.addTask {
                                for index in stride(from: client, to: requests, by: 16) {
                                    let gateway = index.isMultiple(of: 2) ? first : second
                                    let body = "OrderRef,PaymentImportedRef,Amount\nRef123,X-\(index),1\n"
                                    var response = try await gateway.send("POST", "action=UpdatePayments", body: body, headers: ["Idempotency-Key": "crash-\(index)"])
                                    // Not answered in time while the killed worker's partitions move: the client retries, as a client of the gateway would.
                                    for _ in 0..<30 where response.status != 200 {
                                        response = try await gateway.send("POST", "action=UpdatePayments", body: body, headers: ["Idempotency-Key": "crash-\(index)"])
                                    }
                                    #expect(response.status == 200 && response.body.contains(",X-\(index),"), "\(index): \(response.status) \(response.body)")
                                    if index == requests / 3 { harness.worker.kill9IfRunning() }
                                }
                            }
                        }
                        try await group.waitForAll()
                    }
                    let all = try await first.send("GET", "action=GetPayments&fields=PaymentImportedRef")
                    let rows = all.body.split(separator: "\n").dropFirst()
                    #expect(rows.count == requests && Set(rows).count == requests, "each payment once: \(rows.count) rows")
                }
            }
        }
    }

    // MARK: - Helpers

    struct Response {
        var status: Int
        var headers: [String: String]
        var body: String
    }

    struct RunningGateway: Sendable {
        let process: ChildProcess
        let port: Int

        /// Many connections, so that concurrent requests reach the gateway concurrently.
        static let session: URLSession = {
            let configuration = URLSessionConfiguration.ephemeral
            configuration.httpMaximumConnectionsPerHost = 128
            configuration.timeoutIntervalForRequest = 120
            return URLSession(configuration: configuration)
        }()

        func send(
            _ method: String, _ query: String = "", path: String = "/cloud/APILite/APILite.ashx", body: String? = nil,
            credentials: String = "apiid=123&apikey=12345", headers: [String: String] = [:]
        ) async throws -> Response {
            let target = path.hasPrefix("/cloud") ? "\(path)?\(credentials)&\(query)" : path
            var request = URLRequest(url: try #require(URL(string: "http://127.0.0.1:\(port)\(target)")))
            request.httpMethod = method
            request.httpBody = body.map { Data($0.utf8) }
            request.timeoutInterval = 60
            for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
            let (data, response) = try await Self.session.data(for: request)
            let http = try #require(response as? HTTPURLResponse)
            var fields: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                if let name = name as? String, let value = value as? String { fields[name] = value }
            }
            return Response(status: http.statusCode, headers: fields, body: String(decoding: data, as: UTF8.self))
        }
    }

    /// Runs `body` with a gateway in front of `harness`'s broker, stopped however it ends.
    static func withGateway(
        _ harness: WorkerHarness, timeoutSeconds: Int = 30, maxBodyBytes: Int = 1000, extraArguments: [String] = [],
        stopping: Bool = true, _ body: (RunningGateway) async throws -> Void
    ) async throws {
        let process = try ChildProcess(TestBinaries.paymentWorker, [
            "gateway", "--bootstrap-servers", harness.bootstrap, "--listen", "127.0.0.1:0",
            "--reply-timeout-seconds", "\(timeoutSeconds)", "--max-body-bytes", "\(maxBodyBytes)",
        ] + extraArguments)
        do {
            try await process.waitForStandardError(containing: "gateway listening")
            let line = try #require(process.standardError.split(separator: "\n").first { $0.contains("gateway listening") })
            // `port=N` in text logs, `"port":"N"` in JSON ones.
            let digits = try #require(line.firstMatch(of: /port"?[=:]"?(\d+)/)?.1)
            let port = try #require(Int(digits))
            try await body(RunningGateway(process: process, port: port))
        } catch {
            process.signal(SIGTERM)
            _ = try? await process.waitForExit(timeout: .seconds(20))
            throw error
        }
        guard stopping else { return }
        process.signal(SIGTERM)
        #expect(try await process.waitForExit(timeout: .seconds(20)) == 0, "SIGTERM ends the gateway cleanly")
    }
}
