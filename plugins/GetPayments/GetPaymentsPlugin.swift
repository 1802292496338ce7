import PaymentsDomain
import PluginProtocol

/// Cin7 GetPayments: `fields=...&where=...&orderby=...`; a CSV of the requested fields, or
/// an empty body when no row matches. Read-only, never recorded.
public struct GetPaymentsPlugin: CommandPlugin {
    public static let command = "GetPayments"
    public static let http: HTTPBinding? = .cin7(reads: true)

    public init() {}

    public func decode(_ request: CommandRequest, account: Account) throws(DomainError) -> PluginWork {
        .read(GetPaymentsRead(query: try PaymentQuery.parse(urlQuery: try urlQuery(request), limits: request.limits.query), plugin: self))
    }

    /// The query's fields of each row, as CSV, or an empty body when none.
    public func reply(to payments: [Payment], query: PaymentQuery) -> StoredReply {
        guard !payments.isEmpty else {
            return StoredReply(status: ReplyStatus.ok.rawValue, contentType: "text/csv", body: [])
        }
        return csvReply(header: query.fields.map(\.rawValue), rows: payments.map { payment in query.fields.map { $0.text(of: payment) } })
    }
}

/// GetPayments as a store read: the rows the query selects.
public struct GetPaymentsRead: PaymentRead {
    public let query: PaymentQuery
    let plugin: GetPaymentsPlugin

    public func reads() -> DataRequest {
        DataRequest(query: query)
    }

    public func reply(with data: FetchedData) -> StoredReply {
        plugin.reply(to: data.selected, query: query)
    }
}
