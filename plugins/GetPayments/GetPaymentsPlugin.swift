import PaymentsDomain
import PluginProtocol

/// Cin7 GetPayments: `fields=...&where=...&orderby=...`; a CSV of the requested fields, or
/// an empty body when no row matches. Read-only, never recorded.
public struct GetPaymentsPlugin: CommandPlugin {
    public static let command = "GetPayments"

    public init() {}

    public func decode(_ request: CommandRequest, account: Account) throws(DomainError) -> PluginWork {
        .read(try PaymentQuery.parse(urlQuery: try urlQuery(request), limits: request.limits.query))
    }

    public func reply(to outcome: OperationOutcome, request: CommandRequest) -> StoredReply {
        if case .refused(let error) = outcome { return errorReply(error) }
        return errorReply(DomainError(.internal, "GetPayments does not write"))
    }

    public func reply(to payments: [Payment], query: PaymentQuery) -> StoredReply {
        guard !payments.isEmpty else {
            return StoredReply(status: ReplyStatus.ok.rawValue, contentType: "text/csv", body: [])
        }
        return csvReply(header: query.fields.map(\.rawValue), rows: payments.map { payment in query.fields.map { $0.text(of: payment) } })
    }
}
