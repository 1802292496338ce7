import PaymentsDomain
import PluginProtocol

/// Cin7 UpdatePayments: a CSV upsert, one reply row per line with its errors.
public struct UpdatePaymentsPlugin: CommandPlugin {
    public static let command = "UpdatePayments"
    public static let http: HTTPBinding? = .cin7(reads: false)
    /// An import's lines are independent: one cut into chunks is answered as the whole.
    public static let acceptsChunkedImports = true

    public init() {}

    public func decode(_ request: CommandRequest, account: Account) throws(DomainError) -> PluginWork {
        .write(UpdatePaymentsWrite(lines: try PaymentLineDecoder.decode(try csvDocument(request)), reply: reply))
    }

    /// The CSV of result rows: `partial` when any line failed.
    public func reply(to results: [PaymentLineResult]) -> StoredReply {
        csvReply(body: PaymentLineResult.csv(results), anyLineFailed: results.contains { !$0.errors.isEmpty })
    }
}
