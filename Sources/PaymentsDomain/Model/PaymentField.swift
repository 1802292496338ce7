/// The fields of a payment that GetPayments returns and `where`, `fields` and `orderby` name
/// (case-insensitive). The first 13 are the seed's Get response fields, in its order; the
/// last three are this worker's extension columns.
public enum PaymentField: String, Sendable, Hashable, CaseIterable {
    /// The longest a text field (a reference, a code, a method) may be, in UTF-8 bytes;
    /// Comments have no limit.
    public static let maxTextLength = 255

    case paymentId = "PaymentId"
    case paymentImportedRef = "PaymentImportedRef"
    case orderId = "OrderId"
    case orderRef = "OrderRef"
    case createdDate = "CreatedDate"
    case active = "Active"
    case method = "Method"
    case direction = "Direction"
    case amount = "Amount"
    case date = "Date"
    case transactionAuthorized = "TransactionAuthorized"
    case transactionRef = "TransactionRef"
    case comments = "Comments"
    case backOfficeCode = "BackOfficeCode"
    case number = "Number"
    case lifeCycleState = "LifeCycleState"

    /// What GetPayments returns when no `fields` are given: the seed's 13.
    public static let getDefaults: [PaymentField] = Array(allCases.prefix(13))
    /// What DeletePayments returns for each deleted row.
    public static let deleteResponse: [PaymentField] = [.paymentId, .paymentImportedRef, .orderId, .orderRef]

    public enum Kind: Sendable {
        case integer, text, amount, date, flag, direction, state
    }

    public var kind: Kind {
        switch self {
        case .paymentId, .orderId, .number: .integer
        case .paymentImportedRef, .orderRef, .method, .transactionRef, .comments, .backOfficeCode: .text
        case .amount: .amount
        case .createdDate, .date: .date
        case .active, .transactionAuthorized: .flag
        case .direction: .direction
        case .lifeCycleState: .state
        }
    }

    private static let byLowercasedName: [String: PaymentField] =
        Dictionary(uniqueKeysWithValues: allCases.map { ($0.rawValue.lowercased(), $0) })

    public init?(name: some StringProtocol) {
        guard let field = Self.byLowercasedName[name.lowercased()] else { return nil }
        self = field
    }

    /// The field's value as Cin7 writes it in CSV; nil for an empty cell.
    public func text(of payment: Payment) -> String? {
        switch self {
        case .paymentId: String(payment.id)
        case .paymentImportedRef: payment.importedRef
        case .orderId: String(payment.orderId)
        case .orderRef: payment.orderRef
        case .createdDate: payment.createdDate.cin7
        case .active: payment.active ? "1" : "0"
        case .method: payment.method
        case .direction: String(payment.direction.rawValue)
        case .amount: payment.amount.description
        case .date: payment.date?.cin7
        case .transactionAuthorized: payment.transactionAuthorized ? "1" : "0"
        case .transactionRef: payment.transactionRef
        case .comments: payment.comments
        case .backOfficeCode: payment.backOfficeCode
        case .number: String(payment.number)
        case .lifeCycleState: payment.lifeCycleState.rawValue
        }
    }
}
