import PaymentsDomain

/// `payments/cancel` as a store write: looks up the payment its identifier names (and
/// whether a cancellation holds the back office code asked for), plans with
/// `CancelPlanner`, and answers with the payment and the new cancellation.
public struct CancelPaymentWrite: PaymentWrite {
    public let request: CancelPaymentRequest
    let reply: @Sendable (Payment, PaymentCancellation) -> StoredReply

    public init(request: CancelPaymentRequest, reply: @escaping @Sendable (Payment, PaymentCancellation) -> StoredReply) {
        self.request = request
        self.reply = reply
    }

    public func reads() -> DataRequest {
        var data = DataRequest()
        switch request.payment {
        case .id(let id): data.paymentIds = [id]
        case .number(let number): data.paymentNumbers = [number]
        case .referenceNumber(let reference): data.paymentImportedRefs = [reference]
        case .backOfficeCode(let code): data.paymentBackOfficeCodes = [code]
        }
        if let code = request.details.backOfficeCode { data.cancellationBackOfficeCodes = [code] }
        return data
    }

    public func plan(with data: FetchedData, context: WriteContext) throws(DomainError) -> WritePlan {
        let payment = data.payments.first { payment in
            switch request.payment {
            case .id(let id): payment.id == id
            case .number(let number): payment.number == number
            case .referenceNumber(let reference): payment.importedRef == reference
            case .backOfficeCode(let code): payment.backOfficeCode == code
            }
        }
        let nextNumber = data.counters.nextCancellationNumber
        let codeInUse = request.details.backOfficeCode.map(data.cancellationBackOfficeCodesInUse.contains) ?? false
        let (cancelled, cancellation) = try CancelPlanner.plan(
            request, payment: payment, backOfficeCodeTaken: codeInUse, now: context.now, nextNumber: nextNumber)
        var changes = Changes()
        changes.payments = [.update(cancelled)]
        changes.cancellations = [cancellation]
        changes.nextCancellationNumber = nextNumber + 1
        let reply = self.reply
        return WritePlan(changes: changes) { ids in
            var stored = cancellation
            stored.id = ids.cancellations.first ?? 0
            return reply(cancelled, stored)
        }
    }
}
