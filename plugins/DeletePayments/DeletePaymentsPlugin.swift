import PaymentsDomain
import PluginProtocol

/// Cin7 DeletePayments: deletes what a non-empty `where` selects and returns those rows
/// (`PaymentId,PaymentImportedRef,OrderId,OrderRef`), or an empty body when none.
public struct DeletePaymentsPlugin: CommandPlugin {
    public static let command = "DeletePayments"

    public init() {}

    public func decode(_ request: CommandRequest, account: Account) throws(DomainError) -> PluginWork {
        let query = try PaymentQuery.parse(urlQuery: try urlQuery(request), limits: request.limits.query)
        guard query.filter != nil else {
            throw DomainError(.invalidQuery, "DeletePayments needs a where clause; to delete everything, say so (where=PaymentId > 0)")
        }
        return .write(.deletePayments(query))
    }

    public func reply(to outcome: OperationOutcome, request: CommandRequest) -> StoredReply {
        switch outcome {
        case .deleted(let payments):
            guard !payments.isEmpty else {
                return StoredReply(status: ReplyStatus.ok.rawValue, contentType: "text/csv", body: [])
            }
            let fields = PaymentField.deleteResponse
            return csvReply(header: fields.map(\.rawValue), rows: payments.map { payment in fields.map { $0.text(of: payment) } })
        case .refused(let error):
            return errorReply(error)
        default:
            return errorReply(DomainError(.internal, "DeletePayments got an outcome of another command"))
        }
    }
}
