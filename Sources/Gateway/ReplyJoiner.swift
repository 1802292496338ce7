import Kafka

/// Joins a reply published in parts (`reply-part: i/n`, docs/contract.md §4) into one message whose
/// body is one CSV: the first part whole, then the rows of the others without their header.
/// A reply in one message passes through as it is.
public struct ReplyJoiner {
    public init() {}

    private var parts: [String: [Int: KafkaConsumerMessage]] = [:]

    /// The whole reply once its last missing part is `message`, else nil.
    public mutating func add(_ message: KafkaConsumerMessage) -> KafkaConsumerMessage? {
        guard let part = message.headers.string(named: "reply-part") else { return message }
        let numbers = part.split(separator: "/").compactMap { Int($0) }
        // Anyone may write to the results topic: compared, not made into a range, which traps
        // on a count under 1.
        guard numbers.count == 2, 1 <= numbers[0], numbers[0] <= numbers[1] else { return message }
        let (index, count) = (numbers[0], numbers[1])
        let key = (message.headers.string(named: "correlation-id") ?? "") + "\u{0}" + (message.headers.string(named: "idempotency-key") ?? "")
        parts[key, default: [:]][index] = message
        guard let received = parts[key], received.count == count else { return nil }
        parts[key] = nil
        var whole = received[1] ?? message
        var body = whole.value ?? []
        for index in 2..<(count + 1) {
            let rest = received[index]?.value ?? []
            body += rest.drop { $0 != UInt8(ascii: "\n") }.dropFirst()
        }
        whole.value = body
        return whole
    }
}
