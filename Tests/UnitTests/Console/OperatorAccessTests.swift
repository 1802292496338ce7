@testable import Console
import Foundation
import Kafka
import StatusReport
import Testing

@Suite("Console: operator access")
struct OperatorAccessTests {
    let access = OperatorAccess(tokenHash: OperatorAccess.hash(token: "the-operator-token-1"), sessionLifetime: .seconds(3600))

    @Test("only the operator token is accepted")
    func token() {
        #expect(access.accepts(token: "the-operator-token-1"))
        #expect(!access.accepts(token: "the-operator-token-2"))
        #expect(!access.accepts(token: ""))
    }

    @Test("a session is accepted until it expires, and not once altered or issued under another token")
    func session() {
        let now = Date()
        let session = access.newSession(now: now)
        #expect(access.acceptsSession(session, now: now))
        #expect(!access.acceptsSession(session, now: now.addingTimeInterval(3601)), "expired")
        var parts = session.split(separator: ".").map(String.init)
        parts[0] = String((Int64(parts[0]) ?? 0) + 86_400)
        #expect(!access.acceptsSession(parts.joined(separator: "."), now: now), "a later expiry without a new MAC")
        let other = OperatorAccess(tokenHash: OperatorAccess.hash(token: "another-operator-token"), sessionLifetime: .seconds(3600))
        #expect(!other.acceptsSession(session, now: now), "changing the token ends every session")
        #expect(!access.acceptsSession("garbage", now: now))
    }

    @Test("a CSRF token belongs to its session")
    func csrf() {
        let first = access.newSession()
        let second = access.newSession()
        #expect(access.acceptsCSRF(access.csrfToken(session: first), session: first))
        #expect(!access.acceptsCSRF(access.csrfToken(session: second), session: first))
        #expect(!access.acceptsCSRF("", session: first))
    }
}

@Suite("Console: what pages may show")
struct ConsoleRedactionTests {
    @Test("credential headers are redacted, others kept")
    func headers() {
        for name in ["apikey", "Authorization", "x-api-key", "token", "crm-token", "password", "Cookie"] {
            #expect(Redaction.header(name: name, value: "s3cret") == Redaction.placeholder, "\(name)")
        }
        #expect(Redaction.header(name: "command", value: "UpdatePayments") == "UpdatePayments")
        #expect(Redaction.header(name: "correlation-id", value: "c-1") == "c-1")
    }

    @Test("credential fields of a JSON body are redacted at any depth; text keeps everything but credential pairs")
    func bodies() {
        let json = Redaction.body(Array(#"{"token":"crm-secret","payment":{"id":"P1","api_key":"k-2"},"lines":[{"password":"x"}]}"#.utf8))
        #expect(!json.text.contains("crm-secret") && !json.text.contains("k-2") && !json.text.contains("\"x\""))
        #expect(json.text.contains("P1"))
        let form = Redaction.body(Array("fields=Id&apikey=12345&where=Id>1".utf8))
        #expect(form.text == "fields=Id&apikey=[redacted]&where=Id>1")
        let mixed = Redaction.body(Array(#"<b>{"token":"crm-secret", "note": "kept"} password: hunter2"#.utf8))
        #expect(mixed.text == #"<b>{"token":[redacted], "note": "kept"} password: [redacted]"#)
        let quoted = Redaction.body(Array(#"{'token':'s3cret word'} "password": "correct horse" x"#.utf8))
        #expect(!quoted.text.contains("s3cret") && !quoted.text.contains("horse") && quoted.text.hasSuffix(" x"), "\(quoted.text)")
        let nested = Redaction.body(Array(#"{"p":"{"token":"inner-secret"}","q":"apikey=abc"}"#.utf8))
        #expect(!nested.text.contains("inner-secret") && !nested.text.contains("abc"), "\(nested.text)")
        let csv = Redaction.body(Array("OrderRef,Amount\nRef1,1.00\n".utf8))
        #expect(csv.text == "OrderRef,Amount\nRef1,1.00\n")
        let large = Redaction.body([UInt8](repeating: UInt8(ascii: "a"), count: 70_000), limit: 1_000)
        #expect(large.truncated && large.text.utf8.count == 1_000)
    }

    @Test("values are escaped for HTML")
    func escaping() {
        #expect(escaped(#"<img src=x onerror="alert('1')">&"#) == "&lt;img src=x onerror=&quot;alert(&#39;1&#39;)&quot;&gt;&amp;")
    }
}

@Suite("Console: pages and workers")
struct ConsolePagingTests {
    @Test("a page cursor reads back what it wrote, and refuses what it did not")
    func cursor() throws {
        let cursor = PageCursor(before: [0: 120, 3: 7])
        #expect(cursor.text == "0:120,3:7")
        #expect(PageCursor(cursor.text) == cursor)
        #expect(PageCursor("0:-1") == nil && PageCursor("x:1") == nil && PageCursor("1") == nil)
    }

    @Test("a page reads a window below its cursor, inside what the partition holds, whatever the cursor says")
    func pageRange() {
        #expect(TopicPage.range(held: 0..<1_000, before: nil, window: 50) == 950..<1_000)
        #expect(TopicPage.range(held: 0..<1_000, before: 120, window: 50) == 70..<120)
        #expect(TopicPage.range(held: 500..<600, before: 120, window: 50) == 500..<500, "retention moved past the cursor")
        #expect(TopicPage.range(held: 500..<600, before: .max, window: 50) == 550..<600)
        #expect(TopicPage.range(held: 0..<10, before: nil, window: 50) == 0..<10)
    }

    static func message(_ partition: Int32, _ offset: Int64, at time: Int64) -> KafkaConsumerMessage {
        KafkaConsumerMessage(topic: "t", partition: partition, offset: offset, key: nil, value: nil, headers: [], timestamp: time)
    }

    @Test("newest first across partitions, each partition from its top, so that no message is skipped when clocks disagree")
    func merge() {
        // Offset 11 was written by a producer whose clock is behind the one that wrote 10.
        let messages = [Self.message(0, 10, at: 1_000), Self.message(0, 11, at: 900), Self.message(1, 5, at: 950)]
        let first = TopicPage.merge(messages, size: 2) { _ in true }
        #expect(first.taken.map { "\($0.partition):\($0.offset)" } == ["1:5", "0:11"])
        #expect(first.consumed[0] == [11], "the next page of partition 0 starts below 11, so 10 is on it")
        let filtered = TopicPage.merge(messages, size: 5) { $0.partition == 0 }
        #expect(filtered.taken.map(\.offset) == [11, 10] && filtered.consumed.values.map(\.count).reduce(0, +) == 3)
    }

    @Test("form fields decode + and percent escapes, and keep repeated names")
    func form() {
        let fields = FormFields("m=0%3A5&m=1:7&token=a+b%2Bc&empty=")
        #expect(fields.all("m") == ["0:5", "1:7"])
        #expect(fields.first("token") == "a b+c")
        #expect(fields.first("empty") == "" && fields.first("missing") == nil)
    }

    static func report(_ id: String, commands: Int, final: Bool = false) -> WorkerStatusReport {
        var counters = WorkerStatusReport.Counters()
        counters.commands = ["UpdatePayments": ["ok": commands]]
        counters.errorEvents = ["MALFORMED": commands / 10]
        return WorkerStatusReport(
            instanceId: id, host: "h", pid: 1, version: "1", startedAt: "", at: "", state: final ? .stopping : .ready, final: final,
            store: .init(kind: "sqlite", healthy: true), partitions: [], counters: counters, cpuSeconds: 0, residentBytes: 0,
            intervalSeconds: 1)
    }

    @Test("counts that would overflow, or are negative, are held, not trapped on")
    func hostileCounts() {
        #expect(WorkerBoard.total([Int.max, 1, -5]) == Int.max)
        #expect(WorkerBoard.total([3, -2, 4]) == 7)
        let board = WorkerBoard(history: .seconds(60))
        var report = Self.report("x", commands: 1)
        report.counters.commands = ["A": ["ok": .max, "error": 1]]
        board.add(report, at: Date())
        #expect(board.workers().count == 1)
        board.add(Self.report("future", commands: 0), at: Date().addingTimeInterval(3_600))
        #expect(board.workers(now: Date().addingTimeInterval(4)).first { $0.report.instanceId == "future" }?.gone == true,
                "a report from the future counts as now")
    }

    @Test("a worker is gone after a final report or three silent intervals")
    func gone() {
        let board = WorkerBoard(history: .seconds(900))
        let start = Date()
        board.add(Self.report("a", commands: 0), at: start)
        board.add(Self.report("b", commands: 0), at: start)
        board.add(Self.report("b", commands: 0, final: true), at: start.addingTimeInterval(1))
        #expect(board.workers(now: start.addingTimeInterval(2)).map { "\($0.report.instanceId) \($0.gone)" } == ["a false", "b true"])
        #expect(board.workers(now: start.addingTimeInterval(3.5)).allSatisfy { $0.gone })
        board.add(Self.report("a", commands: 0), at: start.addingTimeInterval(-10))
        #expect(board.workers(now: start.addingTimeInterval(0.5)).first?.gone == false, "an older report does not replace a newer one")
    }

    @Test("rates are the counts' growth between reports, per second, in the slice of the later report")
    func rates() {
        let board = WorkerBoard(history: .seconds(60))
        let now = Date()
        board.add(Self.report("a", commands: 0), at: now.addingTimeInterval(-20))
        board.add(Self.report("a", commands: 300), at: now.addingTimeInterval(-5))
        board.add(Self.report("b", commands: 100), at: now.addingTimeInterval(-20))
        board.add(Self.report("b", commands: 400), at: now.addingTimeInterval(-4))
        let rates = board.rates(now: now, buckets: 6)
        #expect(rates.bucketSeconds == 10)
        #expect(rates.commands == [0, 0, 0, 0, 0, 60], "600 commands in the last 10 s slice")
        #expect(rates.errors.last == 6)
    }
}
