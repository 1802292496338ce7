import PaymentsDomain
import PluginProtocol

/// Cin7 DeletePayments: deletes what a non-empty `where` selects and returns those rows
/// (`PaymentId,PaymentImportedRef,OrderId,OrderRef`), or an empty body when none.
public struct DeletePaymentsPlugin: CommandPlugin {
    public static let command = "DeletePayments"
    public static let http: HTTPBinding? = .cin7(reads: true)

    public init() {}

    public func decode(_ request: CommandRequest, account: Account) throws(DomainError) -> PluginWork {
        let query = try PaymentQuery.parse(urlQuery: try urlQuery(request), limits: request.limits.query)
        guard query.filter != nil else {
            throw DomainError(.invalidQuery, "DeletePayments needs a where clause; to delete everything, say so (where=PaymentId > 0)")
        }
        return .write(DeletePaymentsWrite(query: query, reply: reply))
    }

    /// The deleted rows as CSV, or an empty body when none.
    public func reply(to deleted: [Payment]) -> StoredReply {
        guard !deleted.isEmpty else {
            return StoredReply(status: ReplyStatus.ok.rawValue, contentType: "text/csv", body: [])
        }
        let fields = PaymentField.deleteResponse
        return csvReply(header: fields.map(\.rawValue), rows: deleted.map { payment in fields.map { $0.text(of: payment) } })
    }
}

/// DeletePayments as a store write: reads what the query selects and deletes exactly those.
public struct DeletePaymentsWrite: PaymentWrite {
    public let query: PaymentQuery
    let reply: @Sendable ([Payment]) -> StoredReply

    public init(query: PaymentQuery, reply: @escaping @Sendable ([Payment]) -> StoredReply) {
        self.query = query
        self.reply = reply
    }

    public func reads() -> DataRequest {
        DataRequest(query: query)
    }

    public func plan(with data: FetchedData, context: WriteContext) -> WritePlan {
        var changes = Changes()
        changes.deletedPaymentIds = data.selected.map(\.id)
        let reply = self.reply
        let deleted = data.selected
        return WritePlan(changes: changes) { _ in reply(deleted) }
    }
}
