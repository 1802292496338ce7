/// A fault a client can act on: one of the contract's codes and a message that says what was
/// wrong and where. Messages never carry a secret.
public struct DomainError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String
        public init(rawValue: String) { self.rawValue = rawValue }

        public static let unauthorized = Code(rawValue: "UNAUTHORIZED")
        public static let unknownCommand = Code(rawValue: "UNKNOWN_COMMAND")
        public static let malformed = Code(rawValue: "MALFORMED")
        public static let invalidQuery = Code(rawValue: "INVALID_QUERY")
        public static let validation = Code(rawValue: "VALIDATION")
        public static let notFound = Code(rawValue: "NOT_FOUND")
        public static let invalidState = Code(rawValue: "INVALID_STATE")
        public static let duplicate = Code(rawValue: "DUPLICATE")
        public static let idempotencyConflict = Code(rawValue: "IDEMPOTENCY_CONFLICT")
        public static let tooLarge = Code(rawValue: "TOO_LARGE")
        public static let `internal` = Code(rawValue: "INTERNAL")

        public var description: String { rawValue }
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code): \(message)" }
}
