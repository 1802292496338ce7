import Foundation
import PaymentsDomain
import PluginProtocol

/// SetComments: `PaymentImportedRef=R1&Comments=paid%20late` sets the Comments of the
/// payment that reference names and answers `PaymentId,Comments`. Over HTTP it is a Cin7
/// action: `POST ?action=SetComments`.
public struct SetCommentsPlugin: CommandPlugin {
    public static let command = "SetComments"
    public static let http: HTTPBinding? = .cin7(reads: false)

    public init() {}

    public func decode(_ request: CommandRequest, account: Account) throws(DomainError) -> PluginWork {
        var fields: [String: String] = [:]
        for pair in try urlQuery(request).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = parts.first?.removingPercentEncoding else { continue }
            fields[name] = parts.dropFirst().first.map { $0.removingPercentEncoding ?? String($0) } ?? ""
        }
        guard let reference = fields["PaymentImportedRef"], !reference.isEmpty else {
            throw DomainError(.validation, "PaymentImportedRef is required")
        }
        return .write(SetComments(reference: reference, comments: fields["Comments"] ?? "", plugin: self))
    }
}

/// The command's logic: read the payment, plan its new state, answer once it is stored.
struct SetComments: PaymentWrite {
    let reference: String
    let comments: String
    let plugin: SetCommentsPlugin

    func reads() -> DataRequest {
        var request = DataRequest()
        request.paymentImportedRefs = [reference]
        return request
    }

    func plan(with data: FetchedData, context: WriteContext) throws(DomainError) -> WritePlan {
        // A refusal: nothing is written, and the error reply is recorded for the key.
        guard var payment = data.payments.first else {
            throw DomainError(.notFound, "no payment has PaymentImportedRef '\(reference)'")
        }
        payment.comments = comments
        var changes = Changes()
        changes.payments = [.update(payment)]
        let reply = plugin.csvReply(header: ["PaymentId", "Comments"], rows: [[String(payment.id), payment.comments]])
        return WritePlan(changes: changes) { _ in reply }
    }
}
