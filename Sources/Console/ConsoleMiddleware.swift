import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

enum ConsoleHeaders {
    static let frameOptions = HTTPField.Name("X-Frame-Options")!
    static let referrerPolicy = HTTPField.Name("Referrer-Policy")!
    static let csrfToken = HTTPField.Name("X-CSRF-Token")!
}

/// A console request's context: the session it came with, when it came with one rather than
/// a bearer token (a session's POSTs must carry its CSRF token).
struct ConsoleRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    var session: String?

    init(source: Source) {
        coreContext = .init(source: source)
    }
}

/// Headers every answer carries: no script but the console's own file, no framing, no
/// sniffing, no referrer, no caching of operator data.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var contentSecurityPolicy: String {
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPResponseError {
            response = try error.response(from: request, context: context)
        } catch {
            // Whatever failed, the answer still carries the headers below.
            context.logger.warning("a console request failed", metadata: ["error": "\(error)"])
            response = ConsoleResponses.text(.internalServerError, "The console could not answer this request.")
        }
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[ConsoleHeaders.frameOptions] = "DENY"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[ConsoleHeaders.referrerPolicy] = "no-referrer"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

/// Lets through only the operator: a bearer token, or a session cookie from the login form
/// whose POSTs carry the session's CSRF token (a form field `csrf` or an `X-CSRF-Token`
/// header). A page asked for without either is sent to the login form; an API call is 401.
struct OperatorAuthenticationMiddleware: RouterMiddleware {
    typealias Context = ConsoleRequestContext
    let access: OperatorAccess

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let isAPI = request.uri.path.hasPrefix("/api/")
        if let authorization = request.headers[.authorization] {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            guard parts.count == 2, parts[0].lowercased() == "bearer", access.accepts(token: String(parts[1])) else {
                // No browser sends this header by itself: a script with a wrong token gets a
                // 401 for a page too, not the login form.
                return ConsoleResponses.refused(api: true, "the bearer token is not the operator token")
            }
            return try await next(request, context)
        }
        guard let session = request.cookies[OperatorAccess.sessionCookie]?.value, access.acceptsSession(session) else {
            return ConsoleResponses.refused(api: isAPI, "log in first")
        }
        var request = request
        if request.method == .post {
            var presented = request.headers[ConsoleHeaders.csrfToken]
            if presented == nil {
                let body = try await request.collectBody(upTo: ConsoleResponses.maxFormBytes)
                presented = FormFields(String(buffer: body)).first("csrf")
            }
            guard let presented, access.acceptsCSRF(presented, session: session) else {
                return ConsoleResponses.text(.forbidden, "This form has expired or did not come from the console: its CSRF token is missing or wrong. Go back, reload and try again.")
            }
        }
        var context = context
        context.session = session
        return try await next(request, context)
    }
}

/// `name=value&...` of a query or a form body, decoded.
struct FormFields: Sendable {
    let pairs: [(name: String, value: String)]

    init(_ text: String) {
        pairs = text.split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let decode = { (text: Substring) in
                String(text).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
            }
            return (decode(parts[0]), parts.count > 1 ? decode(parts[1]) : "")
        }
    }

    func first(_ name: String) -> String? {
        pairs.first { $0.name == name }?.value
    }

    func all(_ name: String) -> [String] {
        pairs.filter { $0.name == name }.map(\.value)
    }
}

enum ConsoleResponses {
    static let maxFormBytes = 64 << 10

    static func html(_ page: String) -> Response {
        html(.ok, page)
    }

    static func html(_ status: HTTPResponse.Status, _ page: String) -> Response {
        Response(status: status, headers: [.contentType: "text/html; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: page)))
    }

    static func text(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    static func json(_ value: some Encodable) -> Response {
        json(.ok, value)
    }

    static func json(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
        let data = (try? encoder.encode(value)) ?? Data(#"{"error":"the answer could not be encoded"}"#.utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }

    static func redirect(to location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    static func refused(api: Bool, _ reason: String) -> Response {
        guard !api else {
            var response = json(.unauthorized, ["error": reason])
            response.headers[.wwwAuthenticate] = #"Bearer realm="payment-console""#
            return response
        }
        return redirect(to: "/login")
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }
}
