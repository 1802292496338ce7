import Foundation
import Kafka
import Testing

/// The console as an operator sees it: a real headless Chromium, driven over WebDriver,
/// against real workers, a real broker and a real console process. A failing test leaves a
/// screenshot (its path is in the failure).
@Suite("Operator console in a browser", .serialized, .timeLimit(.minutes(6)))
struct ConsoleBrowserTests {
    static let secrets = ["sk-live-browser-secret-1", "crm-browser-token-2"]

    /// Logs in, checks workers, errors, the DLQ and its replays, escaping and CSRF, on one
    /// console, as an operator would in one sitting.
    @Test("log in, see two workers and one go, filter errors, replay a valid command and a poison one, scripts shown as text, CSRF and tokens enforced")
    func operatorSession() async throws {
        try await WorkerHarness.withPostgres(extraArguments: ["--status-interval-seconds", "1"]) { harness, databaseURL, others in
            let second = others.add(try await WorkerHarness.startWorker(
                bootstrap: harness.bootstrap, store: databaseURL, extraArguments: ["--status-interval-seconds", "1"]))
            try await RunningConsole.with(bootstrap: harness.bootstrap, folder: harness.folder) { console in
                let driver = try await ChromeDriver.start()
                defer { driver.stop() }
                let browser = try await WebDriverSession(driver: driver)
                do {
                    try await Self.session(browser, console: console, harness: harness, second: second)
                } catch {
                    let picture = try? await browser.saveScreenshot(named: "console-operator-session")
                    try? await browser.delete()
                    Issue.record("screenshot of the failure: \(picture?.path ?? "none")")
                    throw error
                }
                try await browser.delete()
            }
        }
    }

    static func session(_ browser: WebDriverSession, console: RunningConsole, harness: WorkerHarness, second: ChildProcess) async throws {
        var pages: [String: String] = [:]

        // Not logged in: every page leads to the login form; a wrong token is refused.
        try await browser.navigate(to: console.url("/workers"))
        #expect(try await browser.currentURL().path == "/login")
        try await logIn(browser, console: console, token: "wrong-token-but-long-enough")
        try await browser.waitUntil(description: "the login form saying the token is wrong") {
            try await browser.pageSource().contains("That is not the operator token.")
        }
        #expect(try await browser.currentURL().path == "/login")
        try await logIn(browser, console: console, token: RunningConsole.token)
        try await browser.waitUntil(description: "the overview after logging in") { try await browser.currentURL().path == "/" }
        let session = try #require(try await browser.cookies().first { $0.name == "console_session" })
        #expect(session.httpOnly && session.sameSite == "Strict")

        // Two workers, each with its partitions; one killed is shown gone within 15 s.
        try await browser.navigate(to: console.url("/workers"))
        try await browser.waitUntil(timeout: .seconds(30), description: "two workers up, with partitions") {
            let workers = try await browser.findElements(css: "section.worker.up").count
            let partitions = try await browser.findElements(css: "section.worker.up tbody tr").count
            return workers == 2 && partitions == 4
        }
        pages["workers"] = try await browser.pageSource()
        // Read in one script: the page replaces its content every few seconds.
        let secondInstance = try #require(try await browser.executeScript("""
            var section = Array.from(document.querySelectorAll("section.worker.up"))
              .find(function (element) { return element.textContent.indexOf("(pid \(second.pid))") >= 0; });
            return section ? section.getAttribute("data-instance") : null;
            """).string)
        second.kill9IfRunning()
        try await browser.waitUntil(timeout: .seconds(15), description: "the killed worker shown gone") {
            // The page refreshes itself (the static script); nothing reloads it here.
            try await browser.findElements(css: "section.worker.gone[data-instance='\(secondInstance)']").count == 1
        }

        // Errors, filtered by code.
        let unauthorized = "browser-unauthorized-\(UUID().uuidString)"
        _ = try await harness.send("UpdatePayments", "OrderRef,PaymentImportedRef,Amount\nRef123,B-1,1.00\n",
                                   headers: ["apiid": "123", "apikey": "wrong-key"], correlationId: unauthorized)
        _ = try await harness.send("UpdatePayments", "OrderRef,PaymentImportedRef,Amount,Colour\nRef123,B-2,1.00,red\n")
        try await browser.navigate(to: console.url("/errors?code=UNAUTHORIZED"))
        try await browser.waitUntil(timeout: .seconds(20), description: "the UNAUTHORIZED event on the filtered errors page") {
            try await browser.navigate(to: console.url("/errors?code=UNAUTHORIZED"))
            return try await browser.pageSource().contains(unauthorized)
        }
        let codes = try await browser.findElements(css: "table.errors tbody tr td:nth-child(2)")
        for code in codes { #expect(try await browser.text(of: code) == "UNAUTHORIZED") }
        pages["errors"] = try await browser.pageSource()

        // The DLQ: a valid command put there as one dead-lettered after its retry budget
        // would be, and poison with script payloads and credentials.
        let valid = "browser-valid-\(UUID().uuidString)"
        try await harness.producer.send(KafkaProducerMessage(
            topic: "payments.dlq", key: Array("Ref123".utf8), value: Array("OrderRef,PaymentImportedRef,Amount\nRef123,B-VALID,3.00\n".utf8),
            headers: [
                KafkaHeader(name: "command", string: "UpdatePayments"), KafkaHeader(name: "apiid", string: "123"),
                KafkaHeader(name: "apikey", string: "12345"), KafkaHeader(name: "correlation-id", string: valid),
                KafkaHeader(name: "idempotency-key", string: valid),
            ]))
        let poison = "browser-poison-\(UUID().uuidString)"
        try await harness.sendRaw(
            nil, Array(#"<script>window.__injected = 1</script>{"token":"\#(secrets[1])"}"#.utf8),
            headers: ["x-note": #"<img src=x onerror="window.__injected = 2">"#, "apikey": secrets[0]], correlationId: poison)
        try await browser.navigate(to: console.url("/dlq"))
        try await browser.waitUntil(timeout: .seconds(20), description: "both messages on the DLQ page") {
            try await browser.navigate(to: console.url("/dlq"))
            return try await browser.findElements(css: "table.dlq tbody tr").count == 2
        }
        pages["dlq"] = try await browser.pageSource()
        var listed: [String] = []
        for link in try await browser.findElements(css: "table.dlq tbody tr td:nth-child(3) a") {
            listed.append(try await browser.text(of: link))
        }
        var places: [String: String] = [:]
        for place in listed {
            try await browser.navigate(to: console.url("/dlq/\(place.replacingOccurrences(of: ":", with: "/"))"))
            let source = try await browser.pageSource()
            if source.contains(valid) { places["valid"] = place }
            if source.contains(poison) { places["poison"] = place }
            pages["dlq \(place)"] = source
        }
        let validPlace = try #require(places["valid"])
        #expect(pages["dlq \(validPlace)"]?.contains("<th>apikey</th><td>[redacted]</td>") == true, "the seed account's apikey is redacted")
        let poisonPlace = try #require(places["poison"])

        // The payloads are text on the poison message's page, and nothing of them ran.
        try await browser.navigate(to: console.url("/dlq/\(poisonPlace.replacingOccurrences(of: ":", with: "/"))"))
        let body = try await browser.text(of: try await browser.findElement(css: "pre.body"))
        #expect(body.contains("<script>window.__injected = 1</script>"))
        #expect(try await browser.text(of: try await browser.findElement(css: "table.headers")).contains(#"<img src=x onerror="window.__injected = 2">"#))
        #expect(try await browser.executeScript("return typeof window.__injected") == "undefined")
        #expect(try await browser.findElements(css: "main img, main script").isEmpty)

        // A POST with the session cookie but without its CSRF token is refused.
        let status = try await browser.executeScript("""
            var request = new XMLHttpRequest();
            request.open("POST", "/dlq/replay", false);
            request.setRequestHeader("Content-Type", "application/x-www-form-urlencoded");
            request.send("m=\(validPlace)");
            return request.status;
            """)
        #expect(status == 403)

        // Replay the valid command: selected on the DLQ page, confirmed, answered ok.
        try await browser.navigate(to: console.url("/dlq"))
        try await browser.click(try await browser.findElement(css: "input[name='m'][value='\(validPlace)']"))
        try await browser.click(try await browser.findElement(css: "form[action='/dlq/replay'] button[type='submit']"))
        try await browser.waitUntil(description: "the confirmation") { try await browser.findElements(css: "#confirm-replay").count == 1 }
        pages["confirm"] = try await browser.pageSource()
        try await browser.click(try await browser.findElement(css: "#confirm-replay"))
        try await browser.waitUntil(timeout: .seconds(40), description: "the valid replay's outcome") {
            try await browser.findElements(css: "tr.replay td.outcome").count == 1
        }
        #expect(try await browser.text(of: try await browser.findElement(css: "tr.replay td.outcome")) == "ok")
        pages["replayed valid"] = try await browser.pageSource()

        // Replay the poison message from its own page: back to the DLQ with its error event.
        try await browser.navigate(to: console.url("/dlq/\(poisonPlace.replacingOccurrences(of: ":", with: "/"))"))
        try await browser.click(try await browser.findElement(css: "a.button[href^='/dlq/replay']"))
        try await browser.click(try await browser.findElement(css: "#confirm-replay"))
        try await browser.waitUntil(timeout: .seconds(40), description: "the poison replay's outcome") {
            try await browser.findElements(css: "tr.replay td.outcome").count == 1
        }
        let outcome = try await browser.text(of: try await browser.findElement(css: "tr.replay td.outcome"))
        #expect(outcome.hasPrefix("back in the DLQ (MALFORMED: the message has no command header)"), "\(outcome)")
        pages["replayed poison"] = try await browser.pageSource()

        // The overview, as the README shows it.
        try await browser.navigate(to: console.url("/"))
        pages["overview"] = try await browser.pageSource()
        let picture = try await browser.saveScreenshot(named: "console-overview")
        if let copyTo = ProcessInfo.processInfo.environment["PAYMENT_CONSOLE_SCREENSHOT"] {
            try? FileManager.default.removeItem(atPath: copyTo)
            try FileManager.default.copyItem(at: picture, to: URL(fileURLWithPath: copyTo))
        }

        for (name, source) in pages {
            for secret in secrets + [RunningConsole.token] {
                #expect(!source.contains(secret), "the \(name) page shows a credential: \(secret)")
            }
        }
    }

    static func logIn(_ browser: WebDriverSession, console: RunningConsole, token: String) async throws {
        try await browser.navigate(to: console.url("/login"))
        let field = try await browser.findElement(css: "input[name='token']")
        try await browser.sendKeys(field, token)
        try await browser.click(try await browser.findElement(css: "form.login button[type='submit']"))
    }
}

extension Array where Element: Sendable {
    func asyncFirst(where predicate: (Element) async throws -> Bool) async rethrows -> Element? {
        for element in self where try await predicate(element) { return element }
        return nil
    }
}
