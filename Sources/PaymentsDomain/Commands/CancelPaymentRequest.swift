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

extension Account {
    /// Resolves `type_identifier` (by id, name or alternative_code).
    public func transactionType(id: String?, name: String?, alternativeCode: String?) throws(DomainError) -> FinancialTransactionType {
        let given = [id, name, alternativeCode].compactMap { $0 }
        guard given.count == 1 else {
            throw DomainError(.validation, "type_identifier needs exactly one of id, name or alternative_code")
        }
        guard let type = transactionTypes.first(where: {
            (id != nil && $0.id == id) || (name != nil && $0.name == name) || (alternativeCode != nil && $0.alternativeCode == alternativeCode)
        }) else {
            throw DomainError(.notFound, "no financial transaction type with \(id.map { "id '\($0)'" } ?? name.map { "name '\($0)'" } ?? "alternative_code '\(alternativeCode ?? "")'")")
        }
        return type
    }

    /// Resolves `category_identifier` (by id, name or code).
    public func transactionCategory(id: String?, name: String?, code: String?) throws(DomainError) -> FinancialTransactionCategory {
        let given = [id, name, code].compactMap { $0 }
        guard given.count == 1 else {
            throw DomainError(.validation, "category_identifier needs exactly one of id, name or code")
        }
        guard let category = categories.first(where: {
            (id != nil && $0.id == id) || (name != nil && $0.name == name) || (code != nil && $0.code == code)
        }) else {
            throw DomainError(.notFound, "no financial transaction category with \(id.map { "id '\($0)'" } ?? name.map { "name '\($0)'" } ?? "code '\(code ?? "")'")")
        }
        return category
    }
}
