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
}
