/// Cin7's payment direction: 1 receives a payment, -1 pays out or refunds.
public enum Direction: Int, Sendable, Hashable, CaseIterable, Codable {
    case receive = 1
    case pay = -1

    public init(parsing text: some StringProtocol) throws(DomainError) {
        switch text {
        case "1", "+1": self = .receive
        case "-1": self = .pay
        default: throw DomainError(.validation, "Direction '\(text)' must be 1 (receive) or -1 (pay/refund)")
        }
    }
}

/// Cin7's 0/1 flags (Active, TransactionAuthorized).
public enum ZeroOneFlag {
    public static func parse(_ text: some StringProtocol, field: String) throws(DomainError) -> Bool {
        switch text {
        case "1": return true
        case "0": return false
        default: throw DomainError(.validation, "\(field) '\(text)' must be 0 or 1")
        }
    }
}
