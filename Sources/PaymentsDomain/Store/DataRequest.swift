/// What a command reads in its account before it plans: payments and orders by key, the
/// payments a query selects, the cancellations' back office codes in use. A store looks each
/// set up in a few statements however large it is (a bulk import asks for thousands of keys).
public struct DataRequest: Sendable, Hashable {
    public var paymentIds: Set<Int64> = []
    public var paymentNumbers: Set<Int64> = []
    public var paymentImportedRefs: Set<String> = []
    public var paymentBackOfficeCodes: Set<String> = []
    public var orderIds: Set<Int64> = []
    public var orderRefs: Set<String> = []
    public var cancellationBackOfficeCodes: Set<String> = []
    /// The payments a query selects, in its order and with its limits.
    public var query: PaymentQuery?

    public init() {}

    public init(query: PaymentQuery) {
        self.query = query
    }
}

/// What a store found for a `DataRequest`, all within the command's account.
public struct FetchedData: Sendable {
    /// The payments found by any of the keys asked for, each once.
    public private(set) var payments: [Payment] = []
    public var orders: [Order] = []
    /// The back office codes asked for that a cancellation already holds.
    public var cancellationBackOfficeCodesInUse: Set<String> = []
    /// The payments the request's query selects, in its order.
    public var selected: [Payment] = []
    /// The account's next numbers, as they stand in this transaction.
    public var counters = AccountCounters()
    private var paymentIdsFound: Set<Int64> = []

    public init() {}

    /// Adds payments found by a key, skipping any found already by another.
    public mutating func found(_ more: [Payment]) {
        for payment in more where paymentIdsFound.insert(payment.id).inserted {
            payments.append(payment)
        }
    }
}

/// The numbers an account gives its next payment and its next cancellation.
public struct AccountCounters: Sendable, Hashable {
    public var nextPaymentNumber: Int64
    public var nextCancellationNumber: Int64

    public init(nextPaymentNumber: Int64 = 1, nextCancellationNumber: Int64 = 1) {
        self.nextPaymentNumber = nextPaymentNumber
        self.nextCancellationNumber = nextCancellationNumber
    }
}
