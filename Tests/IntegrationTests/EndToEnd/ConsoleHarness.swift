import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// A `payment-worker console` process in front of a harness's broker, with its operator token.
struct RunningConsole: Sendable {
    static let token = "console-test-token-0123456789"
    let process: ChildProcess
    let port: Int

    func url(_ path: String) -> URL {
        URL(string: "http://127.0.0.1:\(port)\(path)") ?? URL(fileURLWithPath: "/")
    }

    struct Answer: Sendable {
        let status: Int
        /// Names in lower case.
        let headers: [String: String]
        let body: String
    }

    /// One request, with the operator token as a bearer token unless `bearer` says otherwise.
    func fetch(_ path: String, method: String = "GET", bearer: String? = Self.token, body: String? = nil) async throws -> Answer {
        var request = URLRequest(url: url(path))
        request.httpMethod = method
        request.httpBody = body.map { Data($0.utf8) }
        request.timeoutInterval = 60
        if let bearer { request.setValue("Bearer \(bearer)", forHTTPHeaderField: "Authorization") }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as? HTTPURLResponse
        var headers: [String: String] = [:]
        for (name, value) in http?.allHeaderFields ?? [:] {
            if let name = name as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return Answer(status: http?.statusCode ?? 0, headers: headers, body: String(decoding: data, as: UTF8.self))
    }

    /// The login form posted with `token`, its redirect not followed: the status and the
    /// `Set-Cookie` header of the console's own answer.
    func logIn(token: String) async throws -> (status: Int, setCookie: String?) {
        var request = URLRequest(url: url("/login"))
        request.httpMethod = "POST"
        request.httpBody = Data("token=\(token)".utf8)
        request.timeoutInterval = 30
        let session = URLSession(configuration: .ephemeral, delegate: NoRedirects(), delegateQueue: nil)
        defer { session.finishTasksAndInvalidate() }
        let (_, response) = try await session.data(for: request)
        let http = response as? HTTPURLResponse
        return (http?.statusCode ?? 0, http?.value(forHTTPHeaderField: "Set-Cookie"))
    }

    final class NoRedirects: NSObject, URLSessionTaskDelegate, Sendable {
        func urlSession(
            _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
            newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
        ) {
            completionHandler(nil)
        }
    }

    func json(_ path: String) async throws -> [String: Any] {
        let answer = try await fetch(path)
        guard answer.status == 200, let object = try JSONSerialization.jsonObject(with: Data(answer.body.utf8)) as? [String: Any] else {
            throw ConsoleAnswerError(path: path, status: answer.status, body: answer.body)
        }
        return object
    }

    struct ConsoleAnswerError: Error, CustomStringConvertible {
        let path: String
        let status: Int
        let body: String
        var description: String { "\(path): \(status) \(body.prefix(300))" }
    }

    /// Runs `body` with a console on `bootstrap`, stopped (and expected to stop cleanly) however it ends.
    static func with(
        bootstrap: String, folder: URL, extraArguments: [String] = [], _ body: (RunningConsole) async throws -> Void
    ) async throws {
        let tokenFile = folder.appendingPathComponent("console-token")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try Data("\(token)\n".utf8).write(to: tokenFile)
        let process = try ChildProcess(TestBinaries.paymentWorker, [
            "console", "--bootstrap-servers", bootstrap, "--listen", "127.0.0.1:0", "--token-file", tokenFile.path,
            "--replay-timeout-seconds", "30",
        ] + extraArguments)
        do {
            try await process.waitForStandardError(containing: "console listening")
            let line = try #require(process.standardError.split(separator: "\n").first { $0.contains("console listening") })
            let digits = try #require(line.firstMatch(of: /port"?[=:]"?(\d+)/)?.1)
            try await body(RunningConsole(process: process, port: try #require(Int(digits))))
        } catch {
            process.signal(SIGTERM)
            _ = try? await process.waitForExit(timeout: .seconds(20))
            process.kill9IfRunning()
            throw error
        }
        process.signal(SIGTERM)
        #expect(try await process.waitForExit(timeout: .seconds(20)) == 0, "SIGTERM ends the console cleanly: \(process.standardError.suffix(500))")
        #expect(!process.standardError.contains(token), "the token is never logged")
    }
}
