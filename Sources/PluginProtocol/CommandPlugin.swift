import Foundation
import PaymentsDomain

/// A handler for one command name. A plugin sees the payments domain and this protocol,
/// never Kafka: it decodes a body into its command's logic over the domain (a `PaymentWrite`
/// or a `PaymentRead`), which also builds the reply. The runtime owns the rest: envelopes,
/// idempotency, transactions, batching, retries and publishing.
public protocol CommandPlugin: Sendable {
    /// The value of the `command` header this plugin handles.
    static var command: String { get }

    /// Whether a CSV body too large for one message may be sent as consecutive commands of
    /// whole lines (`payment-worker send`, the HTTP gateway), each answered for its own lines.
    /// False unless a plugin says so: only a command whose lines are independent may be cut.
    static var acceptsChunkedImports: Bool { get }

    /// How the HTTP gateway reaches the command, or nil when it is not served over HTTP.
    static var http: HTTPBinding? { get }

    /// Who is asking. Cin7-style commands carry `apiid` and `apikey` headers (the default);
    /// CancelPayment carries a token in its JSON body.
    func credentials(_ request: CommandRequest) throws(DomainError) -> Credentials

    /// The command's logic, or why it cannot run.
    func decode(_ request: CommandRequest, account: Account) throws(DomainError) -> PluginWork

    /// How the reply of a command that cannot run, or that its logic refused, is written.
    static var errorReplyFormat: ErrorReplyFormat { get }
}

/// Where a command is served over HTTP (docs/contract.md §8).
public enum HTTPBinding: Sendable, Hashable {
    /// Cin7 API Lite: `action=<command>` on its path. A read is a `GET` whose query, less
    /// `apiid`, `apikey` and `action`, is the body; a write is a `POST` (or `PUT`) of the body.
    case cin7(reads: Bool)
    /// A `POST` of the body to `path`.
    case post(path: String)
}

/// A command as the runtime hands it over: its body and headers (names lower-case).
public struct CommandRequest: Sendable {
    public var body: [UInt8]
    public var headers: [String: String]
    public var limits: CommandLimits

    public init(body: [UInt8], headers: [String: String] = [:], limits: CommandLimits = CommandLimits()) {
        self.body = body
        self.headers = headers
        self.limits = limits
    }
}

public struct CommandLimits: Sendable, Hashable {
    public var csv: CSVLimits
    public var query: QueryLimits

    public init(csv: CSVLimits = CSVLimits(), query: QueryLimits = QueryLimits()) {
        self.csv = csv
        self.query = query
    }
}

public enum Credentials: Sendable, Hashable {
    case apiKey(apiId: String, apiKey: String)
    case token(String)
}

public enum PluginWork: Sendable {
    /// Effects, applied once per idempotency key.
    case write(any PaymentWrite)
    /// A read-only command, never recorded.
    case read(any PaymentRead)
}

extension CommandPlugin {
    public static var acceptsChunkedImports: Bool { false }

    public static var http: HTTPBinding? { nil }

    /// Cin7-style: the `apiid` and `apikey` headers.
    public func credentials(_ request: CommandRequest) throws(DomainError) -> Credentials {
        guard let apiId = request.headers["apiid"], let apiKey = request.headers["apikey"], !apiId.isEmpty, !apiKey.isEmpty else {
            throw DomainError(.unauthorized, "\(Self.command) needs the apiid and apikey headers")
        }
        return .apiKey(apiId: apiId, apiKey: apiKey)
    }

    public static var errorReplyFormat: ErrorReplyFormat { .cin7 }

    /// The reply of a command that cannot run, or that its logic refused.
    public func errorReply(_ error: DomainError) -> StoredReply {
        Self.errorReplyFormat.reply(for: error)
    }

    /// A CSV body as text, refusing what is not UTF-8.
    public func csvDocument(_ request: CommandRequest) throws(DomainError) -> CSVDocument {
        try CSVReader.read(request.body, limits: request.limits.csv)
    }

    /// A CSV reply: `partial` when any line failed.
    public func csvReply(header: [String], rows: [[String?]], anyLineFailed: Bool = false) -> StoredReply {
        var writer = CSVWriter(header: header)
        for row in rows { writer.writeRecord(row) }
        return csvReply(body: writer.bytes, anyLineFailed: anyLineFailed)
    }

    /// A CSV reply written already: `partial` when any line failed.
    public func csvReply(body: [UInt8], anyLineFailed: Bool = false) -> StoredReply {
        StoredReply(status: (anyLineFailed ? ReplyStatus.partial : .ok).rawValue, contentType: "text/csv", body: body)
    }

    /// The URL-query body of GetPayments and DeletePayments.
    public func urlQuery(_ request: CommandRequest) throws(DomainError) -> String {
        guard let text = String(validating: request.body, as: UTF8.self) else {
            throw DomainError(.malformed, "the body is not UTF-8 text")
        }
        return text.trimmingCharacters(in: [" ", "\n", "\r", "\t"])
    }
}
