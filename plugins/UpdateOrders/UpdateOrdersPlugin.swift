import PaymentsDomain
import PluginProtocol

/// Registers orders (`LineId,OrderId,OrderRef`), so that payments can be inserted on them.
public struct UpdateOrdersPlugin: CommandPlugin {
    public static let command = "UpdateOrders"
    public static let http: HTTPBinding? = .cin7(reads: false)
    /// An import's lines are independent: one cut into chunks is answered as the whole.
    public static let acceptsChunkedImports = true

    public init() {}

    public func decode(_ request: CommandRequest, account: Account) throws(DomainError) -> PluginWork {
        .write(UpdateOrdersWrite(lines: try OrderLineDecoder.decode(try csvDocument(request)), reply: reply))
    }

    /// The CSV of result rows: `partial` when any line failed.
    public func reply(to results: [OrderLineResult]) -> StoredReply {
        csvReply(header: OrderLineResult.header, rows: results.map(\.csvFields), anyLineFailed: results.contains { !$0.errors.isEmpty })
    }
}

/// UpdateOrders as a store write: looks up the orders its lines name and plans them with
/// `OrderUpsertPlanner`.
public struct UpdateOrdersWrite: PaymentWrite {
    public let lines: [OrderLine]
    let reply: @Sendable ([OrderLineResult]) -> StoredReply

    public init(lines: [OrderLine], reply: @escaping @Sendable ([OrderLineResult]) -> StoredReply) {
        self.lines = lines
        self.reply = reply
    }

    public var lineCount: Int { lines.count }

    public func reads() -> DataRequest {
        let keys = OrderUpsertPlanner.keys(for: lines)
        var request = DataRequest()
        request.orderIds = keys.ids
        request.orderRefs = keys.refs
        return request
    }

    public func plan(with data: FetchedData, context: WriteContext) -> WritePlan {
        let plan = OrderUpsertPlanner.plan(lines, existing: data.orders)
        var changes = Changes()
        changes.orders = plan.writes
        let reply = self.reply
        return WritePlan(changes: changes) { ids in reply(plan.results(insertedIds: ids.orders)) }
    }
}
