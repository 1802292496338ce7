import Kafka

/// Joins a reply published in parts (`reply-part: i/n`, docs/contract.md §4) into one message
/// whose body is one CSV: the first part whole, then the rows of the others without their
/// header. A reply in one message passes through as it is.
///
/// Bounded: a reply's parts are published together, so parts still incomplete `keep` after
/// their first came (the others were read before this gateway started, or never written)
/// are dropped.
public struct ReplyJoiner {
    private struct Pending {
        var firstCame: ContinuousClock.Instant
        var parts: [Int: KafkaConsumerMessage] = [:]
    }

    private let keep: Duration
    private var pending: [String: Pending] = [:]
    private var lastSwept: ContinuousClock.Instant?

    public init(keep: Duration = .seconds(600)) {
        self.keep = keep
    }

    /// Replies whose parts are being gathered.
    public var incomplete: Int { pending.count }

    /// The whole reply once its last missing part is `message`, else nil.
    public mutating func add(_ message: KafkaConsumerMessage, at now: ContinuousClock.Instant = .now) -> KafkaConsumerMessage? {
        dropExpired(at: now)
        guard let part = message.headers.string(named: "reply-part") else { return message }
        let numbers = part.split(separator: "/").compactMap { Int($0) }
        // Anyone may write to the results topic: compared, not made into a range, which traps
        // on a count under 1.
        guard numbers.count == 2, 1 <= numbers[0], numbers[0] <= numbers[1] else { return message }
        let (index, count) = (numbers[0], numbers[1])
        let key = (message.headers.string(named: "correlation-id") ?? "") + "\u{0}" + (message.headers.string(named: "idempotency-key") ?? "")
        pending[key, default: Pending(firstCame: now)].parts[index] = message
        guard let received = pending[key]?.parts, received.count == count else { return nil }
        pending[key] = nil
        var whole = received[1] ?? message
        var body = whole.value ?? []
        for index in 2..<(count + 1) {
            let rest = received[index]?.value ?? []
            body += rest.drop { $0 != UInt8(ascii: "\n") }.dropFirst()
        }
        whole.value = body
        return whole
    }

    /// Drops what has waited longer than `keep`, looking at most once every `keep / 10`.
    private mutating func dropExpired(at now: ContinuousClock.Instant) {
        if let lastSwept, now - lastSwept < keep / 10 { return }
        lastSwept = now
        pending = pending.filter { now - $0.value.firstCame < keep }
    }
}
