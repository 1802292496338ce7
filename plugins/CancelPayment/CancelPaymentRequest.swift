import PaymentsDomain

/// Which payment a CRM.COM cancel names: exactly one identifier.
public enum PaymentIdentifier: Sendable, Hashable, CustomStringConvertible {
    case id(Int64)
    case number(Int64)
    case referenceNumber(String)
    case backOfficeCode(String)

    public var description: String {
        switch self {
        case .id(let id): "id '\(id)'"
        case .number(let number): "number '\(number)'"
        case .referenceNumber(let reference): "reference_number '\(reference)'"
        case .backOfficeCode(let code): "back_office_code '\(code)'"
        }
    }
}

/// A `payments/cancel` request once its identifiers are resolved in the account's registries.
public struct CancelPaymentRequest: Sendable, Hashable {
    public var payment: PaymentIdentifier
    public var details: CancellationDetails

    public init(payment: PaymentIdentifier, details: CancellationDetails) {
        self.payment = payment
        self.details = details
    }
}

/// CRM.COM's cancel rules: only a POSTED payment can be cancelled; it becomes CANCELLED and
/// inactive, and a POSTED cancellation of the same amount is created.
public enum CancelPlanner {
    public static func plan(
        _ request: CancelPaymentRequest, payment: Payment?, backOfficeCodeTaken: Bool, now: UTCDateTime, nextNumber: Int64
    ) throws(DomainError) -> (payment: Payment, cancellation: PaymentCancellation) {
        guard var payment else {
            throw DomainError(.notFound, "no payment with \(request.payment) in this account")
        }
        guard payment.lifeCycleState == .posted else {
            throw DomainError(.invalidState, "payment \(payment.id) is \(payment.lifeCycleState.rawValue); only a POSTED payment can be cancelled")
        }
        if backOfficeCodeTaken, let code = request.details.backOfficeCode {
            throw DomainError(.duplicate, "back_office_code '\(code)' is already used by another payment cancellation")
        }
        payment.lifeCycleState = .cancelled
        payment.active = false
        let cancellation = PaymentCancellation(
            id: 0, number: nextNumber, paymentId: payment.id, amount: payment.amount,
            issuedOn: now, postedOn: now, details: request.details)
        return (payment, cancellation)
    }
}
