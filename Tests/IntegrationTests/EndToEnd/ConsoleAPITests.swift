import Foundation
import Kafka
import Testing

/// The console's access rules and JSON API (docs/contract.md §9), through real processes.
@Suite("Operator console: access and API", .serialized, .timeLimit(.minutes(4)))
struct ConsoleAPITests {
    static let secrets = ["sk-live-do-not-show-1", "crm-token-do-not-show-2"]

    @Test("the console refuses to start without an operator token, or with one too short to be real")
    func refusesWithoutToken() async throws {
        for (arguments, expected) in [([String](), "token: required"), (["--token", "CHANGE-ME"], "at least 16 characters")] {
            let process = try ChildProcess(TestBinaries.paymentWorker, ["console", "--bootstrap-servers", "127.0.0.1:9"] + arguments)
            #expect(try await process.waitForExit(timeout: .seconds(20)) != 0)
            #expect(process.standardError.contains(expected), "\(process.standardError)")
        }
    }

    @Test("a login sets an HttpOnly, SameSite=Strict session cookie, Secure when asked; a wrong token sets none")
    func sessionCookie() async throws {
        let broker = try ChildProcess(TestBinaries.paymentWorker, ["broker"])
        defer { broker.kill9IfRunning() }
        let bootstrap = try await broker.firstLine()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("console-cookie-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        for secure in [false, true] {
            try await RunningConsole.with(bootstrap: bootstrap, folder: folder, extraArguments: secure ? ["--secure-cookie"] : []) { console in
                let refused = try await console.logIn(token: "not-the-operator-token")
                #expect(refused.status == 401 && refused.setCookie == nil)
                let accepted = try await console.logIn(token: RunningConsole.token)
                #expect(accepted.status == 303)
                let cookie = try #require(accepted.setCookie)
                #expect(cookie.hasPrefix("console_session=") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
                #expect(cookie.contains("Secure") == secure, "\(cookie)")
                #expect(!cookie.contains(RunningConsole.token))
            }
        }
    }

    @Test("the API needs the token, shows workers and the DLQ with credentials redacted, and a bearer replay is answered")
    func apiAndRedaction() async throws {
        try await WorkerHarness.with(extraArguments: ["--status-interval-seconds", "1"]) { harness in
            try await RunningConsole.with(bootstrap: harness.bootstrap, folder: harness.folder) { console in
                #expect(try await console.fetch("/api/workers", bearer: nil).status == 401)
                #expect(try await console.fetch("/api/workers", bearer: "not-the-operator-token").status == 401)
                #expect(try await console.fetch("/", bearer: "not-the-operator-token").status == 401)
                let workers = try await eventually("the worker in /api/workers") { () -> [[String: Any]]? in
                    let workers = try await console.json("/api/workers")["workers"] as? [[String: Any]]
                    return workers?.isEmpty == false ? workers : nil
                }
                let report = try #require(workers.first?["report"] as? [String: Any])
                #expect(workers.first?["gone"] as? Bool == false && report["state"] as? String == "ready")
                #expect((report["partitions"] as? [Any])?.count == 4)

                // Poison (no command header) carrying credentials in a header and in its JSON body.
                let correlation = "console-api-\(UUID().uuidString)"
                try await harness.sendRaw(
                    nil, Array(#"{"token":"\#(Self.secrets[1])","amount":1}"#.utf8),
                    headers: ["apikey": Self.secrets[0], "apiid": "123"], correlationId: correlation)
                // The DLQ copy and the error event that gives its reason are published together,
                // on two topics: either may be read first.
                let letter = try await eventually("the poison message in /api/dlq, with its reason") { () -> [String: Any]? in
                    let messages = try await console.json("/api/dlq")["messages"] as? [[String: Any]]
                    return messages?.first { $0["correlation_id"] as? String == correlation && $0["reason"] != nil }
                }
                #expect((letter["reason"] as? String)?.hasPrefix("MALFORMED: ") == true)
                let partition = try #require(letter["partition"] as? Int)
                let offset = try #require(letter["offset"] as? Int)

                let trace = try await console.fetch("/api/trace?id=\(correlation)")
                #expect(trace.status == 200 && trace.body.contains("[redacted]"))
                let traced = try #require(try JSONSerialization.jsonObject(with: Data(trace.body.utf8)) as? [String: Any])
                #expect((traced["commands"] as? [Any])?.count == 1 && (traced["dlq"] as? [Any])?.count == 1)
                #expect((traced["error_events"] as? [Any])?.count == 1 && (traced["replies"] as? [Any])?.count == 1)

                let replay = try await console.fetch("/api/dlq/replay", method: "POST", body: #"{"messages":[{"partition":\#(partition),"offset":\#(offset)}]}"#)
                #expect(replay.status == 200, "\(replay.body)")
                let outcome = try #require(
                    (try JSONSerialization.jsonObject(with: Data(replay.body.utf8)) as? [String: Any])?["replays"] as? [[String: Any]]).first
                #expect((outcome?["outcome"] as? String)?.hasPrefix("back in the DLQ (MALFORMED") == true, "\(replay.body)")
                #expect((outcome?["error_event"] as? [String: Any])?["code"] as? String == "MALFORMED")

                #expect(try await console.fetch("/api/dlq/replay", method: "POST", body: #"{"messages":[{"partition":0,"offset":999999}]}"#).status == 404)
                #expect(try await console.fetch("/api/dlq/replay", method: "POST", body: "{}").status == 400)
                // Outside input at the edges of the numbers: answered, never a crash.
                #expect(try await console.fetch("/dlq/0/9223372036854775807").status == 400)
                #expect(try await console.fetch("/api/dlq?before=0:9223372036854775807,1:-1").status == 200)
                #expect(try await console.fetch("/api/dlq/replay", method: "POST", body: #"{"messages":[{"partition":0,"offset":9223372036854775807}]}"#).status == 400)
                #expect(try await console.fetch("/healthz", bearer: nil).status == 200)

                for path in ["/api/dlq", "/api/trace?id=\(correlation)", "/api/errors", "/dlq", "/dlq/\(partition)/\(offset)", "/trace?id=\(correlation)"] {
                    let answer = try await console.fetch(path)
                    #expect(answer.status == 200, "\(path)")
                    for secret in Self.secrets + [RunningConsole.token] {
                        #expect(!answer.body.contains(secret), "\(path) shows a credential")
                    }
                }
                let page = try await console.fetch("/dlq")
                #expect(page.body.contains("<table class=\"dlq\">"))
                #expect(page.headers["x-frame-options"] == "DENY")
                let policy = try #require(page.headers["content-security-policy"])
                #expect(policy.contains("script-src 'self'") && !policy.contains("unsafe-inline"))
            }
        }
    }
}
