import Foundation
import HTTPTypes
import Kafka

/// An HTTP request of the seeds' APIs turned into a command (docs/contract.md §8), or why not.
struct ForwardedCommand: Sendable {
    var name: String
    var headers: [KafkaHeader]
    var body: [UInt8]

    static let cin7Path = "/cloud/APILite/APILite.ashx"

    /// Cin7 API Lite: `apiid`, `apikey` and `action` from the query become headers; the rest
    /// of the query (as received, still URL-encoded) is the body of a read, the request body
    /// that of a write. An action no command serves is `UNKNOWN_COMMAND` whatever the method.
    static func cin7(
        method: HTTPRequest.Method, query: String, body: [UInt8], routes: GatewayRoutes
    ) throws(GatewayFailure) -> ForwardedCommand {
        var credentials: [String: String] = [:]
        var rest: [Substring] = []
        for item in query.split(separator: "&") {
            let rawName = item.prefix { $0 != "=" }
            let name = Self.decoded(rawName)
            if name == "apiid" || name == "apikey" || name == "action" {
                credentials[name] = Self.decoded(item.dropFirst(rawName.count + 1))
            } else {
                rest.append(item)
            }
        }
        guard let action = credentials["action"], !action.isEmpty else {
            throw GatewayFailure(.badRequest, code: "MALFORMED",
                                 "the action query parameter is required (\(routes.cin7Actions.joined(separator: ", ")))")
        }
        guard let reads = routes.cin7[action] else {
            throw GatewayFailure(.badRequest, code: "UNKNOWN_COMMAND",
                                 "there is no action '\(action)'; the actions are \(routes.cin7Actions.joined(separator: ", "))")
        }
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

    /// A query component as text: Foundation's percent decoding is called only when there is
    /// something to decode (it was 5 % of the gateway's CPU called on every plain name).
    private static func decoded(_ component: Substring) -> String {
        guard component.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else { return String(component) }
        let spaced = component.replacingOccurrences(of: "+", with: " ")
        return spaced.removingPercentEncoding ?? spaced
    }

    /// A command whose body is `POST`ed to a path of its own (CRM.COM's
    /// `/payments/cancel`: the JSON body, token inside).
    static func posted(_ command: String, body: [UInt8]) -> ForwardedCommand {
        ForwardedCommand(name: command, headers: [KafkaHeader(name: "command", string: command)], body: body)
    }
}

/// The commands the gateway serves and how, from the plugins' declarations: Cin7 actions
/// (read or write) and paths that take a `POST`.
public struct GatewayRoutes: Sendable {
    /// Whether each Cin7 action reads (GET) or writes (POST, PUT).
    public var cin7: [String: Bool] = [:]
    /// The command posted to each path.
    public var posts: [String: String] = [:]

    public init() {}

    var cin7Actions: [String] { cin7.keys.sorted() }
    var commands: Set<String> { Set(cin7.keys).union(posts.values) }
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

    /// The Cin7-style error body `{"code","message"}`, through an encoder: a message may
    /// hold quotes or anything a client sent.
    static func body(code: String, message: String) -> [UInt8] {
        struct Body: Encodable {
            let code: String
            let message: String
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(Body(code: code, message: message))).map(Array.init) ?? Array(#"{"code":"INTERNAL","message":""}"#.utf8)
    }
}
