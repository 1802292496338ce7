@testable import Gateway
@testable import Kafka
import Testing

@Suite("Gateway reply board")
struct ReplyBoardTests {
    private func reply(_ id: String) -> KafkaConsumerMessage {
        KafkaConsumerMessage(topic: "payments.results", partition: 0, offset: 0, key: nil, value: Array("body-\(id)".utf8),
                             headers: [KafkaHeader(name: "correlation-id", string: id)])
    }

    @Test("a reply handed to its waiting request frees its place at once, so a full board takes the next request")
    func answeredRequestsLeave() async {
        let board = ReplyBoard(capacity: 2, keep: .seconds(600))
        for round in 0..<5 {
            let id = "r\(round)"
            #expect(board.register(id) == .registered, "round \(round)")
            board.deliver(reply(id))
            let answer = await board.wait(for: id, timeout: .seconds(5))
            #expect(answer?.value == Array("body-\(id)".utf8))
        }
        #expect(board.count == 0)
    }

    @Test("a request that stopped waiting keeps its place, and its late reply is kept for GET /replies; a full board refuses the next; an id in use is taken")
    func lateRepliesAreKept() async {
        let board = ReplyBoard(capacity: 2, keep: .seconds(600))
        #expect(board.register("late") == .registered)
        let timer = Task { await board.expireWaits(every: .milliseconds(5)) }
        defer { timer.cancel() }
        #expect(await board.wait(for: "late", timeout: .milliseconds(10)) == nil)
        guard case .pending = board.lookup("late") else { Issue.record("not pending"); return }
        board.deliver(reply("late"))
        guard case .arrived(let kept) = board.lookup("late") else { Issue.record("not kept"); return }
        #expect(kept.value == Array("body-late".utf8))
        #expect(board.register("late") == .taken)
        #expect(board.register("other") == .registered)
        #expect(board.register("third") == .full)
        board.deliver(reply("not-ours"))
        guard case .unknown = board.lookup("not-ours") else { Issue.record("another gateway's reply kept"); return }
    }

    @Test("the deadline of a wait that was answered ends no later wait under the same id")
    func staleDeadlinesEndNothing() async {
        let board = ReplyBoard(capacity: 4, keep: .seconds(600))
        let start = ContinuousClock.now
        #expect(board.register("a") == .registered)
        let first = Task { await board.wait(for: "a", timeout: .seconds(1)) }
        #expect(await until { board.waiting == 1 })
        board.deliver(reply("a"))
        #expect(await first.value?.value == Array("body-a".utf8))
        // Answered and forgotten, "a" is taken again; the first wait's deadline must not count.
        #expect(board.register("a") == .registered)
        let second = Task { await board.wait(for: "a", timeout: .seconds(60)) }
        #expect(await until { board.waiting == 1 })
        board.expireWaits(at: start + .seconds(10))
        #expect(board.waiting == 1, "the answered wait's deadline ended the new one")
        board.expireWaits(at: start + .seconds(120))
        #expect(await second.value == nil)
        guard case .pending = board.lookup("a") else { Issue.record("the timed-out wait's place is not kept"); return }
    }

    @Test("waits end by their own deadline, whatever order they came in")
    func deadlinesInAnyOrder() async {
        let board = ReplyBoard(capacity: 4, keep: .seconds(600))
        let start = ContinuousClock.now
        #expect(board.register("long") == .registered)
        #expect(board.register("short") == .registered)
        let long = Task { await board.wait(for: "long", timeout: .seconds(60)) }
        #expect(await until { board.waiting == 1 })
        let short = Task { await board.wait(for: "short", timeout: .seconds(1)) }
        #expect(await until { board.waiting == 2 })
        board.expireWaits(at: start + .seconds(10))
        #expect(await short.value == nil)
        #expect(board.waiting == 1)
        board.deliver(reply("long"))
        #expect(await long.value?.value == Array("body-long".utf8))
        #expect(board.waiting == 0)
    }

    /// Polls `condition` until it holds, for at most 5 s.
    private func until(_ condition: () -> Bool) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(5)
        while !condition() {
            guard ContinuousClock.now < deadline else { return false }
            await Task.yield()
        }
        return true
    }
}
