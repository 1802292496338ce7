import PaymentsDomain
import PluginProtocol

/// Registers orders (`LineId,OrderId,OrderRef`), so that payments can be inserted on them.
public struct UpdateOrdersPlugin: CommandPlugin {
    public static let command = "UpdateOrders"

    public init() {}

    public func decode(_ request: CommandRequest, account: Account) throws(DomainError) -> PluginWork {
        .write(.updateOrders(try OrderLineDecoder.decode(try csvDocument(request))))
    }

    public func reply(to outcome: OperationOutcome, request: CommandRequest) -> StoredReply {
        switch outcome {
        case .orders(let results):
            return csvReply(header: OrderLineResult.header, rows: results.map(\.csvFields),
                            anyLineFailed: results.contains { !$0.errors.isEmpty })
        case .refused(let error):
            return errorReply(error)
        default:
            return errorReply(DomainError(.internal, "UpdateOrders got an outcome of another command"))
        }
    }
}
