/// A stored payment. Cin7 names first; the CRM.COM name is in `PaymentField`.
public struct Payment: Sendable, Hashable {
    public var id: Int64
    /// Sequential per account, assigned by the store.
    public var number: Int64
    public var importedRef: String?
    public var orderId: Int64
    public var orderRef: String
    public var createdDate: UTCDateTime
    public var active: Bool
    public var method: String?
    public var direction: Direction
    public var amount: Amount
    public var date: UTCDateTime?
    public var transactionAuthorized: Bool
    public var transactionRef: String?
    public var comments: String?
    public var backOfficeCode: String?
    public var lifeCycleState: LifeCycleState

    public init(
        id: Int64, number: Int64, importedRef: String?, orderId: Int64, orderRef: String,
        createdDate: UTCDateTime, active: Bool = true, method: String? = nil, direction: Direction = .receive,
        amount: Amount, date: UTCDateTime? = nil, transactionAuthorized: Bool = false,
        transactionRef: String? = nil, comments: String? = nil, backOfficeCode: String? = nil,
        lifeCycleState: LifeCycleState = .posted
    ) {
        self.id = id
        self.number = number
        self.importedRef = importedRef
        self.orderId = orderId
        self.orderRef = orderRef
        self.createdDate = createdDate
        self.active = active
        self.method = method
        self.direction = direction
        self.amount = amount
        self.date = date
        self.transactionAuthorized = transactionAuthorized
        self.transactionRef = transactionRef
        self.comments = comments
        self.backOfficeCode = backOfficeCode
        self.lifeCycleState = lifeCycleState
    }
}

/// An order payments belong to. OrderRef is unique per account; the store assigns OrderId.
public struct Order: Sendable, Hashable {
    public var id: Int64
    public var ref: String

    public init(id: Int64, ref: String) {
        self.id = id
        self.ref = ref
    }
}
