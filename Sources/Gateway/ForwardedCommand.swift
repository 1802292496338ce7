import Foundation
import HTTPTypes
import Kafka

/// An HTTP request of the seeds' APIs turned into a command (DESIGN.md §8), or why not.
struct ForwardedCommand: Sendable {
    var name: String
    var headers: [KafkaHeader]
    var body: [UInt8]

    static let cin7Path = "/cloud/APILite/APILite.ashx"
    static let cancelPath = "/payments/cancel"

    /// Cin7 API Lite: `apiid`, `apikey` and `action` from the query become headers; the rest
    /// of the query (as received, still URL-encoded) is the body of a GET, the request body
    /// that of a POST or PUT.
    static func cin7(method: HTTPRequest.Method, query: String, body: [UInt8]) throws(GatewayFailure) -> ForwardedCommand {
        var credentials: [String: String] = [:]
        var rest: [Substring] = []
        for item in query.split(separator: "&") {
            let name = item.prefix { $0 != "=" }
            let decodedName = String(name).removingPercentEncoding ?? String(name)
            if ["apiid", "apikey", "action"].contains(decodedName) {
                let value = item.dropFirst(name.count + 1)
                credentials[decodedName] = (String(value).replacingOccurrences(of: "+", with: " ")).removingPercentEncoding ?? String(value)
            } else {
                rest.append(item)
            }
        }
        guard let action = credentials["action"], !action.isEmpty else {
            throw GatewayFailure(.badRequest, code: "MALFORMED", "the action query parameter is required (GetPayments, UpdatePayments, DeletePayments, UpdateOrders)")
        }
        let reads = ["GetPayments", "DeletePayments"].contains(action)
        switch method {
        case .get where reads, .post where !reads, .put where !reads:
            break
        default:
            throw GatewayFailure(.methodNotAllowed, code: "MALFORMED", "\(action) is sent with \(reads ? "GET" : "POST (or PUT) and a CSV body")")
        }
        var headers = [KafkaHeader(name: "command", string: action)]
        for name in ["apiid", "apikey"] {
            if let value = credentials[name] { headers.append(KafkaHeader(name: name, string: value)) }
        }
        return ForwardedCommand(name: action, headers: headers, body: reads ? Array(rest.joined(separator: "&").utf8) : body)
    }

    /// CRM.COM `POST /payments/cancel`: the JSON body, token inside.
    static func cancel(body: [UInt8]) -> ForwardedCommand {
        ForwardedCommand(name: "CancelPayment", headers: [KafkaHeader(name: "command", string: "CancelPayment")], body: body)
    }
}

/// A request answered by the gateway itself, never forwarded.
struct GatewayFailure: Error, Sendable {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    /// Seconds after which a retry may succeed (`Retry-After`).
    var retryAfter: Int?

    init(_ status: HTTPResponse.Status, code: String, _ message: String, retryAfter: Int? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }
}
