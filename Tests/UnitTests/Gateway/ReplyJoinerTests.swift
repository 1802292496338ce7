@testable import Gateway
@testable import Kafka
import Testing

@Suite("Gateway reply joiner")
struct ReplyJoinerTests {
    private func part(_ value: String, _ replyPart: String) -> KafkaConsumerMessage {
        KafkaConsumerMessage(topic: "payments.results", partition: 0, offset: 0, key: nil, value: Array(value.utf8),
                             headers: [KafkaHeader(name: "correlation-id", string: "c1"), KafkaHeader(name: "reply-part", string: replyPart)])
    }

    @Test("parts in any order join into one CSV with one header")
    func joinsParts() {
        var joiner = ReplyJoiner()
        #expect(joiner.add(part("H\n2\n", "2/3")) == nil)
        #expect(joiner.add(part("H\n1\n", "1/3")) == nil)
        let whole = joiner.add(part("H\n3\n", "3/3"))
        #expect(whole.map { String(decoding: $0.value ?? [], as: UTF8.self) } == "H\n1\n2\n3\n")
    }

    @Test("a reply-part header that names no part passes the message through instead of trapping", arguments: ["1/0", "0/0", "1/-3", "-1/2", "3/2", "x/y", "1/2/3"])
    func badPartHeaderPassesThrough(_ header: String) {
        var joiner = ReplyJoiner()
        let message = part("H\n1\n", header)
        #expect(joiner.add(message)?.value == message.value)
    }

    @Test("parts of a reply still incomplete past the keep time are dropped, so the joiner's memory is bounded")
    func incompleteRepliesAreDropped() {
        var joiner = ReplyJoiner(keep: .seconds(60))
        let start = ContinuousClock.now
        #expect(joiner.add(part("H\n1\n", "1/2"), at: start) == nil)
        #expect(joiner.incomplete == 1)
        // Within the keep time the part is held and the reply completes.
        #expect(joiner.add(part("H\n2\n", "2/2"), at: start + .seconds(30)) != nil)
        #expect(joiner.incomplete == 0)
        // A part whose others never come is gone once the keep time has passed.
        var lonely = part("H\n1\n", "1/2")
        lonely.headers = [KafkaHeader(name: "correlation-id", string: "c2"), KafkaHeader(name: "reply-part", string: "1/2")]
        #expect(joiner.add(lonely, at: start + .seconds(31)) == nil)
        #expect(joiner.add(part("H\n1\n", "1/3"), at: start + .seconds(60)) == nil)
        #expect(joiner.incomplete == 2)
        #expect(joiner.add(part("H\n2\n", "2/3"), at: start + .seconds(100)) == nil)
        #expect(joiner.incomplete == 1, "the part of c2 that came at 31 s is dropped at 100 s; c1's second reply stays")
    }
}
