import PaymentsDomain
import PluginProtocol

/// Cin7 UpdatePayments: a CSV upsert, one reply row per line with its errors.
public struct UpdatePaymentsPlugin: CommandPlugin {
    public static let command = "UpdatePayments"

    public init() {}

    public func decode(_ request: CommandRequest, account: Account) throws(DomainError) -> PluginWork {
        .write(.updatePayments(try PaymentLineDecoder.decode(try csvDocument(request))))
    }

    public func reply(to outcome: OperationOutcome, request: CommandRequest) -> StoredReply {
        switch outcome {
        case .payments(let results):
            return csvReply(body: PaymentLineResult.csv(results), anyLineFailed: results.contains { !$0.errors.isEmpty })
        case .refused(let error):
            return errorReply(error)
        default:
            return errorReply(DomainError(.internal, "UpdatePayments got an outcome of another command"))
        }
    }
}
