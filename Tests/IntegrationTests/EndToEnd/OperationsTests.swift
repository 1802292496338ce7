import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Kafka
import Testing

/// The operator's side, through real processes: the metrics endpoint, readiness, the
/// settings precedence and `config check`, and the DLQ tools.
@Suite("Operations", .serialized, .timeLimit(.minutes(5)))
struct OperationsTests {
    @Test("after a known set of commands the scraped metrics show the expected counts")
    func metricsCountWhatHappened() async throws {
        try await WorkerHarness.with { harness in
            let port = try await Self.operationsPort(of: harness.worker)
            for index in 0..<3 {
                try await harness.send("UpdatePayments", "OrderRef,PaymentImportedRef,Amount\nRef123,M-\(index),1\n",
                                       headers: WorkerHarness.seedCredentials.merging(["idempotency-key": "m-\(index)"]) { $1 })
            }
            // The first again: a replay, counted as such and as an ok command.
            try await harness.send("UpdatePayments", "OrderRef,PaymentImportedRef,Amount\nRef123,M-0,1\n",
                                   headers: WorkerHarness.seedCredentials.merging(["idempotency-key": "m-0"]) { $1 })
            try await harness.send("UpdatePayments", "OrderRef,PaymentImportedRef,Amount\nRef123,M-9,1\n",
                                   headers: ["apiid": "123", "apikey": "wrong"])
            let poison = UUID().uuidString
            try await harness.sendRaw(nil, Array("no command header".utf8), correlationId: poison)
            _ = try await harness.errorEvent(for: poison)

            let metrics = try await eventually("the counts") { () -> [String: Double]? in
                let text = try await Self.get(port: port, path: "/metrics").body
                let values = Self.samples(text)
                // Handling time is observed once a batch's replies are acknowledged, a moment
                // after the replies themselves can be read.
                let handled = values["payment_worker_handling_seconds_count"] ?? 0
                return values[#"payment_worker_commands_total{command="UpdatePayments",status="ok"}"#] == 4 && handled >= 6 ? values : nil
            }
            #expect(metrics[#"payment_worker_commands_total{command="UpdatePayments",status="error"}"#] == 1)
            #expect(metrics[#"payment_worker_commands_total{command="-",status="poison"}"#] == 1)
            #expect(metrics[#"payment_worker_lines_total{command="UpdatePayments"}"#] == 3)
            #expect(metrics[#"payment_worker_idempotent_replays_total{command="UpdatePayments"}"#] == 1)
            #expect(metrics[#"payment_worker_dlq_messages_total{reason="poison"}"#] == 1)
            #expect((metrics["payment_worker_handling_seconds_count"] ?? 0) <= 6, "six commands, each handled once")
            #expect((metrics["payment_worker_store_transaction_seconds_count"] ?? 0) >= 1)
            #expect(metrics.keys.contains { $0.hasPrefix(#"payment_worker_consumer_lag{partition="#) || $0.hasPrefix("payment_worker_consumer_lag{topic=") })
        }
    }

    @Test("ready once consuming with store and broker answering; not ready when the broker goes; live throughout")
    func readiness() async throws {
        try await WorkerHarness.with { harness in
            let port = try await Self.operationsPort(of: harness.worker)
            _ = try await eventually("ready") { try await Self.get(port: port, path: "/health/ready").status == 200 ? true : nil }
            harness.broker.kill9IfRunning()
            let notReady = try await eventually("not ready") { () -> String? in
                let response = try await Self.get(port: port, path: "/health/ready")
                return response.status == 503 ? response.body : nil
            }
            #expect(notReady.contains(#""broker":"failing""#))
            #expect(notReady.contains(#""store":"ok""#))
            #expect(try await Self.get(port: port, path: "/health/live").status == 200)
        }
    }

    @Test("settings: a flag wins over the environment, which wins over the file; secrets are redacted")
    func precedence() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("payment-worker-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("worker.json")
        try Data("""
            {"group_id": "from-file", "http_port": 1111, "results_topic": "file.results", "log_format": "json",
             "store": "postgres://worker:hunter2@db.example:5432/payments",
             "kafka_properties": ["sasl.password=s3cret", "client.rack=r1"]}
            """.utf8).write(to: file)
        let check = try ChildProcess(TestBinaries.paymentWorker, ["config", "check", "--config", file.path, "--group-id", "from-flag"],
                                     environment: ["PAYMENT_WORKER_GROUP_ID": "from-env", "PAYMENT_WORKER_HTTP_PORT": "2222"])
        #expect(try await check.waitForExit() == 0)
        let printed = try #require(try JSONSerialization.jsonObject(with: Data(check.standardOutput.utf8)) as? [String: Any])
        #expect(printed["group_id"] as? String == "from-flag")
        #expect(printed["http_port"] as? Int == 2222)
        #expect(printed["results_topic"] as? String == "file.results")
        #expect(printed["log_format"] as? String == "json")
        #expect(printed["kafka_properties"] as? [String] == ["client.rack=r1", "sasl.password=<redacted>"])
        #expect(!check.standardOutput.contains("hunter2"))
        #expect(!check.standardOutput.contains("s3cret"))
    }

    @Test("every setting is one declaration: what config check shows is a file key that reads back the same, an environment variable and a flag in the help")
    func settingsDeclaredOnce() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("payment-worker-config-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let flags = ["config", "check", "--dev", "--group-id", "g", "--instance-id", "i-1", "--kafka-property", "client.rack=r1",
                     "--disable-command", "GetPayments", "--http-port", "9999", "--liveness-window-seconds", "61", "--log-format=json"]
        let first = try ChildProcess(TestBinaries.paymentWorker, flags)
        #expect(try await first.waitForExit() == 0, "\(first.standardError)")
        let shown = try #require(try JSONSerialization.jsonObject(with: Data(first.standardOutput.utf8)) as? [String: Any])
        #expect(shown["dev"] as? Bool == true && shown["http_port"] as? Int == 9999 && shown["liveness_window_seconds"] as? Int == 61)
        #expect(shown["disabled_commands"] as? [String] == ["GetPayments"] && shown["log_format"] as? String == "json")
        #expect(first.standardError.contains("commands up to 16777216 bytes (max_message_bytes); Kafka messages up to 1000000 bytes (message.max.bytes); import chunks up to 979265 bytes and reply parts up to 979520 bytes"),
                "config check shows the size limits that follow: \(first.standardError)")

        // What config check prints is a settings file that gives the same settings.
        let file = folder.appendingPathComponent("worker.json")
        try Data(first.standardOutput.utf8).write(to: file)
        let second = try ChildProcess(TestBinaries.paymentWorker, ["config", "check", "--config", file.path])
        #expect(try await second.waitForExit() == 0, "\(second.standardError)")
        #expect(second.standardOutput == first.standardOutput)

        let help = try ChildProcess(TestBinaries.paymentWorker, ["run", "--help"])
        _ = try await help.waitForExit()
        let helpText = help.standardOutput.replacingOccurrences(of: "\n", with: " ")
        for name in shown.keys {
            #expect(helpText.contains("PAYMENT_WORKER_\(name.uppercased())"), "\(name) has its environment variable in the help")
        }
        for flag in ["--bootstrap-servers", "--store", "--kafka-property", "--disable-command", "--store-timeout-seconds"] {
            #expect(helpText.contains(flag), "\(flag) is in the help")
        }
    }

    @Test("the gateway's settings come from the same declarations: file, PAYMENT_GATEWAY_* and flags in that order, config check-gateway, a fault named")
    func gatewaySettings() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("gateway-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(#"{"bootstrap_servers": "file:9092", "max_pending": 7, "reply_timeout_seconds": 3, "kafka_properties": ["sasl.password=s3cret"]}"#.utf8).write(to: file)
        let check = try ChildProcess(TestBinaries.paymentWorker, ["config", "check-gateway", "--config", file.path, "--max-pending", "9"],
                                     environment: ["PAYMENT_GATEWAY_MAX_PENDING": "8", "PAYMENT_GATEWAY_LISTEN": "0.0.0.0:9000", "PAYMENT_GATEWAY_LOG_FORMAT": "json"])
        #expect(try await check.waitForExit() == 0, "\(check.standardError)")
        let shown = try #require(try JSONSerialization.jsonObject(with: Data(check.standardOutput.utf8)) as? [String: Any])
        #expect(shown["bootstrap_servers"] as? String == "file:9092" && shown["max_pending"] as? Int == 9)
        #expect(shown["listen"] as? String == "0.0.0.0:9000" && shown["reply_timeout_seconds"] as? Int == 3 && shown["log_format"] as? String == "json")
        #expect(shown["kafka_properties"] as? [String] == ["sasl.password=<redacted>"] && !check.standardOutput.contains("s3cret"))
        #expect(check.standardError.contains("import chunks up to 979265 bytes and 10000 lines (import_chunk_lines)"), "\(check.standardError)")

        let bad = try ChildProcess(TestBinaries.paymentWorker, ["config", "check-gateway", "--bootstrap-servers", "k:9092", "--listen", "nowhere"])
        #expect(try await bad.waitForExit() == 1)
        #expect(bad.standardError.contains("listen: expected HOST:PORT, not 'nowhere'"), "\(bad.standardError)")
        let none = try ChildProcess(TestBinaries.paymentWorker, ["gateway"])
        #expect(try await none.waitForExit() != 0)
        #expect(none.standardError.contains("bootstrap_servers: required"), "\(none.standardError)")
    }

    @Test("the settings tables of the docs name every setting of run, gateway and console, and nothing else", arguments: [
        ("README.md", "check", "| setting |"), ("README.md", "check-gateway", "| gateway setting |"),
        ("docs/console.md", "check-console", "| console setting |"),
    ])
    func settingsTables(document: String, check: String, tableHeader: String) async throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let readme = try String(contentsOf: repository.appendingPathComponent(document), encoding: .utf8)
        let table = readme.components(separatedBy: "\n").drop { !$0.hasPrefix(tableHeader) }.dropFirst(2).prefix { $0.hasPrefix("|") }
        let documented = Set(table.flatMap { row in
            (row.split(separator: "|").first ?? "").matches(of: /`([a-z_]+)`/).map { String($0.1) }
        })
        let process = try ChildProcess(
            TestBinaries.paymentWorker, ["config", check, "--bootstrap-servers", "k:9092"],
            environment: ["PAYMENT_CONSOLE_TOKEN": "a-token-for-config-check"])
        #expect(try await process.waitForExit() == 0, "\(process.standardError)")
        let shown = try #require(try JSONSerialization.jsonObject(with: Data(process.standardOutput.utf8)) as? [String: Any])
        #expect(documented == Set(shown.keys), "\(document)'s table under '\(tableHeader)' differs from the declarations")
    }

    @Test("the settings file shipped for docker compose passes config check")
    func shippedSettings() async throws {
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        let file = repository.appendingPathComponent("ops/docker/worker.json")
        let check = try ChildProcess(TestBinaries.paymentWorker, ["config", "check", "--config", file.path])
        #expect(try await check.waitForExit() == 0, "\(check.standardError)")
        #expect(check.standardOutput.contains(#""accounts_file" : "/etc/payment-worker/accounts.json""#))
    }

    @Test("config check rejects a bad file with a message that names the fault", arguments: [
        (#"{"htp_port": 1}"#, "unknown setting 'htp_port'"),
        (#"{"http_port": "soon"}"#, "http_port: expected a whole number"),
        (#"{"http_port": 8080,"#, "not valid JSON"),
        (#"{"kafka_properties": ["no.such.property=1"]}"#, "'no.such.property'"),
        (#"{"disabled_commands": ["PayEverything"]}"#, "there is no command 'PayEverything'"),
    ])
    func badFile(contents: String, fault: String) async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("payment-worker-\(UUID().uuidString).json")
        try Data(contents.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let check = try ChildProcess(TestBinaries.paymentWorker, ["config", "check", "--config", file.path])
        #expect(try await check.waitForExit() == 1)
        #expect(check.standardError.contains(fault), "\(check.standardError)")
    }

    @Test("a poison command waits in the DLQ, is listed with its reason, and a replay applies it once")
    func dlqReplay() async throws {
        // Bodies over 120 bytes are poison for this worker; the next one takes them.
        try await WorkerHarness.with(extraArguments: ["--max-message-bytes", "120"]) { harness in
            let body = "OrderRef,PaymentImportedRef,Amount,Comments\nRef123,DLQ-1,5,\(String(repeating: "x", count: 100))\n"
            let correlationId = UUID().uuidString
            try await harness.sendRaw("UpdatePayments", Array(body.utf8), correlationId: correlationId)
            _ = try await harness.errorEvent(for: correlationId)
            _ = try await harness.dlq.received.wait(for: "the DLQ copy") { !$0.isEmpty }

            let list = try ChildProcess(TestBinaries.paymentWorker, ["dlq", "list", "--bootstrap-servers", harness.bootstrap])
            #expect(try await list.waitForExit() == 0)
            #expect(list.standardOutput.contains("command=UpdatePayments"))
            #expect(list.standardOutput.contains("correlation-id=\(correlationId)"))
            #expect(list.standardOutput.contains("TOO_LARGE"), "\(list.standardOutput)")
            #expect(list.standardOutput.contains("1 message in payments.dlq"))

            // The same group goes on after the poison command, which it must not meet again.
            await WorkerHarness.stop(harness.worker)
            let worker = try await WorkerHarness.startWorker(bootstrap: harness.bootstrap, store: harness.store)
            defer { worker.kill9IfRunning() }
            for round in 1...2 {
                let replay = try ChildProcess(TestBinaries.paymentWorker, ["dlq", "replay", "--all", "--bootstrap-servers", harness.bootstrap])
                #expect(try await replay.waitForExit() == 0)
                let replies = try await harness.results.received.wait(for: "reply \(round) to the replayed command") { messages in
                    messages.filter { $0.headers.string(named: "correlation-id") == correlationId && $0.headers.string(named: "status") == "ok" }
                        .count == round
                }
                let reply = try #require(replies.last { $0.headers.string(named: "correlation-id") == correlationId })
                #expect(reply.headers.string(named: "replayed") == (round == 1 ? "false" : "true"))
            }
            let found = try await harness.send("GetPayments", "where=PaymentImportedRef%3D'DLQ-1'")
            #expect(found.valueString?.components(separatedBy: "DLQ-1").count == 2)
            await WorkerHarness.stop(worker)
        }
    }

    // MARK: - Helpers

    static func operationsPort(of worker: ChildProcess) async throws -> Int {
        try await worker.waitForStandardError(containing: "operations endpoint listening")
        let line = try #require(worker.standardError.split(separator: "\n").first { $0.contains("operations endpoint listening") })
        let port = try #require(line.firstMatch(of: /port=(\d+)/)?.1)
        return try #require(Int(port))
    }

    static func get(port: Int, path: String) async throws -> (status: Int, body: String) {
        let url = try #require(URL(string: "http://127.0.0.1:\(port)\(path)"))
        let (data, response) = try await URLSession.shared.data(from: url)
        return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
    }

    /// Prometheus text lines as `name{labels}` to value.
    static func samples(_ text: String) -> [String: Double] {
        var values: [String: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            values[String(line[..<space])] = value
        }
        return values
    }
}
