import PaymentsDomain

/// The accounts the worker serves, from its configuration.
public struct AccountDirectory: Sendable {
    private var byApiId: [String: Account] = [:]

    public init(_ accounts: [Account] = []) {
        for account in accounts { byApiId[account.apiId] = account }
    }

    public var accounts: [Account] { byApiId.values.sorted { $0.apiId < $1.apiId } }

    /// The account these credentials prove, or nil. Never says which part was wrong.
    public func authenticate(_ credentials: Credentials) -> Account? {
        switch credentials {
        case .apiKey(let apiId, let apiKey):
            guard let account = byApiId[apiId], account.accepts(apiKey: apiKey) else { return nil }
            return account
        case .token(let token):
            return byApiId.values.first { $0.accepts(token: token) }
        }
    }

    /// The account of the seed examples, which dev mode provisions: apiid 123 with the seed's
    /// apikey and CRM token, its transaction type and category, and order Ref123 (id 12345).
    public static let seedAccount = Account(
        apiId: "123",
        apiKeyHash: SecretHash.hashing("12345"),
        tokenHashes: [SecretHash.hashing("B8D7A12E9F91AFADE914B7330AFD08CB")],
        transactionTypes: [FinancialTransactionType(id: "1", name: "Payment Cancellation", alternativeCode: "PAYMENT_CANCELLATION")],
        categories: [FinancialTransactionCategory(id: "1", name: "Cancellation Because of Mistake", code: "MISTAKE")])

    public static let seedOrder = Order(id: 12345, ref: "Ref123")
}
