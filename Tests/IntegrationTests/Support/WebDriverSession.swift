import Foundation

// A small W3C WebDriver client for the integration tests: it drives headless Chromium (Debian's
// `chromium` and `chromium-driver`) through `chromedriver`. Tests wait for what a page shows with
// `waitUntil`, never with fixed sleeps, and stop the driver in a `defer`, which also ends any
// browser a failed test left open:
//
//     let driver = try await ChromeDriver.start()
//     defer { driver.stop() }
//     let browser = try await WebDriverSession(driver: driver)
//     try await browser.navigate(to: consoleURL)
//     try await browser.waitUntil(description: "the payments table") {
//         try await !browser.findElements(css: "table.payments tbody tr").isEmpty
//     }
//     try await browser.delete()

/// What went wrong talking to chromedriver or the browser.
enum WebDriverError: Error, CustomStringConvertible {
    /// The remote end answered a command with a WebDriver error, such as "no such element".
    case command(String, error: String, message: String)
    /// The request got no answer: chromedriver is gone, or took longer than the deadline.
    case requestFailed(String, reason: String)
    /// The answer was not the JSON the protocol promises.
    case unexpectedAnswer(String, status: Int, body: String)
    /// chromedriver exited, or did not report ready in time; `log` is the end of its output.
    case driverDidNotStart(reason: String, log: String)

    var description: String {
        switch self {
        case .command(let command, let error, let message):
            "\(command) failed with WebDriver error '\(error)': \(message)"
        case .requestFailed(let command, let reason):
            "\(command) got no answer: \(reason)"
        case .unexpectedAnswer(let command, let status, let body):
            "\(command) answered HTTP \(status) with an unexpected body: \(body.prefix(500))"
        case .driverDidNotStart(let reason, let log):
            "chromedriver did not start: \(reason)\n--- chromedriver output ---\n\(log)"
        }
    }
}

/// A JSON value as WebDriver sends and receives it: the bodies of commands and the results of
/// scripts, without `Any`.
enum WebDriverValue: Sendable, Equatable, Codable, ExpressibleByStringLiteral, ExpressibleByBooleanLiteral,
    ExpressibleByIntegerLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([WebDriverValue])
    case object([String: WebDriverValue])

    init(stringLiteral value: String) { self = .string(value) }
    init(booleanLiteral value: Bool) { self = .bool(value) }
    init(integerLiteral value: Int) { self = .number(Double(value)) }
    init(arrayLiteral elements: WebDriverValue...) { self = .array(elements) }
    init(dictionaryLiteral elements: (String, WebDriverValue)...) {
        self = .object(Dictionary(elements) { _, last in last })
    }

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        // Bool before number, so that `true` stays a Bool with any decoder that would read it as 1.
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else if let array = try? container.decode([WebDriverValue].self) {
            self = .array(array)
        } else {
            self = .object(try container.decode([String: WebDriverValue].self))
        }
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .null: try container.encodeNil()
        case .bool(let bool): try container.encode(bool)
        case .number(let number): try container.encode(number)
        case .string(let string): try container.encode(string)
        case .array(let array): try container.encode(array)
        case .object(let object): try container.encode(object)
        }
    }

    var string: String? { if case .string(let string) = self { string } else { nil } }
    var bool: Bool? { if case .bool(let bool) = self { bool } else { nil } }
    var number: Double? { if case .number(let number) = self { number } else { nil } }
    var array: [WebDriverValue]? { if case .array(let array) = self { array } else { nil } }
    var object: [String: WebDriverValue]? { if case .object(let object) = self { object } else { nil } }
    subscript(key: String) -> WebDriverValue? { object?[key] }
}

/// An element of the page, as the browser names it; valid until the page it is on goes away.
struct WebElement: Sendable, Hashable {
    /// The key under which WebDriver puts an element's id (W3C WebDriver, "web element identifier").
    static let identifierKey = "element-6066-11e4-a52e-4f735466cecf"
    let id: String
}

/// A cookie the browser holds for the current page.
struct BrowserCookie: Sendable, Equatable {
    let name: String
    let value: String
    let path: String?
    let domain: String?
    let secure: Bool
    let httpOnly: Bool
    /// "Strict", "Lax" or "None"; nil when the browser does not say.
    let sameSite: String?
}

/// The HTTP side of WebDriver: a command is a request whose answer is `{"value": ...}`, or
/// `{"value": {"error": ..., "message": ...}}` when it failed.
///
/// Plain HTTP/1.1 over a socket rather than URLSession: on Linux, URLSession (libcurl underneath)
/// fails every request to chromedriver with "Failed writing header", because chromedriver writes
/// headers without a space after the colon (swift-corelibs-foundation issue #4965). The socket
/// calls block, so they run on a Dispatch thread, never on one of Swift concurrency's few threads.
private enum WebDriverHTTP {
    static func request(
        _ method: String, _ url: URL, body: WebDriverValue? = nil, timeout: Duration = .seconds(30)
    ) async throws -> WebDriverValue {
        let command = "\(method) \(url.path)"
        let payload = try body.map { try JSONEncoder().encode($0) }
        let deadline = ContinuousClock.now + timeout
        let (status, data) = try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try exchange(method, url, payload, deadline: deadline) })
            }
        }
        let unexpected = WebDriverError.unexpectedAnswer(command, status: status, body: String(decoding: data, as: UTF8.self))
        guard let answer = try? JSONDecoder().decode(WebDriverValue.self, from: data), let value = answer["value"] else {
            throw unexpected
        }
        if let error = value["error"]?.string {
            throw WebDriverError.command(command, error: error, message: value["message"]?.string ?? "")
        }
        guard (200..<300).contains(status) else { throw unexpected }
        return value
    }

    /// One request on a connection of its own; returns the status code and the body.
    private static func exchange(
        _ method: String, _ url: URL, _ payload: Data?, deadline: ContinuousClock.Instant
    ) throws -> (Int, Data) {
        let command = "\(method) \(url.path)"
        guard let host = url.host, let port = url.port.flatMap(UInt16.init(exactly:)) else {
            throw WebDriverError.requestFailed(command, reason: "\(url) names no host and port")
        }
        let connection = try connect(to: host, port: port, command: command)
        defer { close(connection) }

        var request = Data("\(method) \(url.path(percentEncoded: true)) HTTP/1.1\r\nHost: \(host):\(port)\r\nConnection: close\r\n".utf8)
        if let payload {
            request.append(Data("Content-Type: application/json; charset=utf-8\r\nContent-Length: \(payload.count)\r\n\r\n".utf8))
            request.append(payload)
        } else {
            request.append(Data("\r\n".utf8))
        }
        var unsent = request[...]
        while !unsent.isEmpty {
            let count = unsent.withUnsafeBytes { send(connection, $0.baseAddress, $0.count, noSignalFlag) }
            guard count >= 0 || errno == EINTR else { throw posixFailure(command, "send") }
            unsent = unsent.dropFirst(max(count, 0))
        }

        var response = Data()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while !isComplete(response) {
            var readable = pollfd(fd: connection, events: Int16(POLLIN), revents: 0)
            let ready = poll(&readable, 1, milliseconds(until: deadline))
            if ready == 0 { throw WebDriverError.requestFailed(command, reason: "no complete answer before the deadline") }
            guard ready > 0 || errno == EINTR else { throw posixFailure(command, "poll") }
            let count = recv(connection, &buffer, buffer.count, 0)
            if count == 0 { break }
            guard count > 0 || errno == EINTR else { throw posixFailure(command, "recv") }
            response.append(contentsOf: buffer[0..<max(count, 0)])
        }
        return try parse(response, command: command)
    }

    #if os(Linux)
    private static let streamSocket = Int32(SOCK_STREAM.rawValue)
    /// A peer that closed early makes `send` fail with EPIPE instead of killing the test with SIGPIPE.
    private static let noSignalFlag = Int32(MSG_NOSIGNAL)
    #else
    private static let streamSocket = SOCK_STREAM
    private static let noSignalFlag: Int32 = 0  // SO_NOSIGPIPE is set on the socket instead.
    #endif

    private static func connect(to host: String, port: UInt16, command: String) throws -> Int32 {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw WebDriverError.requestFailed(command, reason: "\(host) is not an IPv4 address")
        }
        let connection = socket(AF_INET, streamSocket, 0)
        guard connection >= 0 else { throw posixFailure(command, "socket") }
        #if !os(Linux)
        var on: Int32 = 1
        setsockopt(connection, SOL_SOCKET, SO_NOSIGPIPE, &on, socklen_t(MemoryLayout<Int32>.size))
        #endif
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Foundation.connect(connection, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            let failure = posixFailure(command, "connect")
            close(connection)
            throw failure
        }
        return connection
    }

    /// Whether the response holds its head and as many body bytes as its Content-Length says;
    /// without one, the answer ends when chromedriver closes the connection.
    private static func isComplete(_ response: Data) -> Bool {
        guard let head = response.range(of: Data("\r\n\r\n".utf8)),
              let length = contentLength(String(decoding: response[..<head.lowerBound], as: UTF8.self))
        else { return false }
        return response.count - head.upperBound >= length
    }

    /// chromedriver writes "Content-Length:252", without a space.
    private static func contentLength(_ head: String) -> Int? {
        for line in head.split(separator: "\r\n").dropFirst() {
            let parts = line.split(separator: ":", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "content-length" {
                return Int(parts[1].trimmingCharacters(in: .whitespaces))
            }
        }
        return nil
    }

    private static func parse(_ response: Data, command: String) throws -> (Int, Data) {
        guard let head = response.range(of: Data("\r\n\r\n".utf8)) else {
            throw WebDriverError.requestFailed(command, reason: "the connection closed before a complete answer")
        }
        let statusLine = String(decoding: response[..<head.lowerBound], as: UTF8.self).prefix { $0 != "\r" }
        let fields = statusLine.split(separator: " ")
        guard fields.count >= 2, let status = Int(fields[1]) else {
            throw WebDriverError.requestFailed(command, reason: "bad status line '\(statusLine)'")
        }
        return (status, Data(response[head.upperBound...]))
    }

    private static func milliseconds(until deadline: ContinuousClock.Instant) -> Int32 {
        let left = deadline - .now
        guard left > .zero else { return 0 }
        return Int32(clamping: left.components.seconds * 1000 + left.components.attoseconds / 1_000_000_000_000_000 + 1)
    }

    private static func posixFailure(_ command: String, _ call: String) -> WebDriverError {
        .requestFailed(command, reason: "\(call): \(String(cString: strerror(errno)))")
    }
}

/// chromedriver running as a child process on a port of its own choosing.
///
/// `stop()` ends chromedriver and every browser process it started, including Chromium's crash
/// handlers, which leave chromedriver's process group: each driver gets a work directory that
/// becomes the browsers' temporary and configuration folder, so every process whose command line
/// names it is ours.
final class ChromeDriver: Sendable {
    static let defaultExecutable = URL(fileURLWithPath: "/usr/bin/chromedriver")
    static let defaultBrowser = URL(fileURLWithPath: "/usr/bin/chromium")

    /// Whether Debian's `chromium` and `chromium-driver` are installed, for tests to skip without them.
    static var isInstalled: Bool {
        [defaultExecutable, defaultBrowser].allSatisfy { FileManager.default.isExecutableFile(atPath: $0.path) }
    }

    /// Where chromedriver listens, such as http://127.0.0.1:41235.
    let baseURL: URL
    private let processes: DriverProcesses

    private init(baseURL: URL, processes: DriverProcesses) {
        self.baseURL = baseURL
        self.processes = processes
    }

    /// Starts chromedriver and returns once its `/status` says it is ready for sessions.
    static func start(executable: URL = defaultExecutable, timeout: Duration = .seconds(20)) async throws -> ChromeDriver {
        let processes = try await DriverProcesses(executable: executable)
        do {
            let deadline = ContinuousClock.now + timeout
            let port = try await processes.waitForPort(until: deadline)
            guard let baseURL = URL(string: "http://127.0.0.1:\(port)") else {
                throw WebDriverError.driverDidNotStart(reason: "port \(port) makes no URL", log: processes.log())
            }
            try await processes.waitUntilReady(at: baseURL, until: deadline)
            return ChromeDriver(baseURL: baseURL, processes: processes)
        } catch {
            processes.stop()
            throw error
        }
    }

    /// Ends chromedriver and its browsers, and removes their files. Synchronous, so that a test
    /// can call it in a `defer`; safe to call more than once.
    func stop() {
        processes.stop()
    }

    /// For a test that forgot `stop()` or threw before its `defer`.
    deinit { processes.stop() }
}

/// chromedriver's process, its work directory, and the browser processes found through it.
private struct DriverProcesses: Sendable {
    let process: Process
    let workDirectory: URL
    let logFile: URL

    init(executable: URL) async throws {
        workDirectory = FileManager.default.temporaryDirectory
            .appendingPathComponent("chromedriver-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: workDirectory, withIntermediateDirectories: true)
        logFile = workDirectory.appendingPathComponent("chromedriver.log")
        try Data().write(to: logFile)
        let log = try FileHandle(forWritingTo: logFile)
        defer { try? log.close() }

        process = Process()
        process.executableURL = executable
        // Port 0: chromedriver binds a free port itself and says which, so no other process can
        // take the port between our choosing it and chromedriver binding it.
        process.arguments = ["--port=0"]
        process.environment = ProcessInfo.processInfo.environment.merging([
            // Chromium's profile, its crash database and chromedriver's scratch folders go here.
            "TMPDIR": workDirectory.path,
            "XDG_CONFIG_HOME": workDirectory.appendingPathComponent("config").path,
        ]) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = log
        process.standardError = log
        do {
            try await Self.runWithNoSignalBlocked(process)
        } catch {
            try? FileManager.default.removeItem(at: workDirectory)
            throw error
        }
    }

    /// Foundation's Process on Linux hands the child the signal mask of the thread that starts it
    /// (swift-corelibs-foundation issue #4772), and the Dispatch threads that run async code block
    /// SIGTERM among others: chromedriver, and the browsers it starts, would ignore `stop()`'s
    /// SIGTERM. So the process is started from a thread of its own that blocks no signal.
    private static func runWithNoSignalBlocked(_ process: Process) async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            Thread {
                var noSignals = sigset_t()
                sigemptyset(&noSignals)
                pthread_sigmask(SIG_SETMASK, &noSignals, nil)
                continuation.resume(with: Result { try process.run() })
            }.start()
        }
    }

    /// The end of what chromedriver and the browser wrote, for error messages.
    func log() -> String {
        String(((try? String(contentsOf: logFile, encoding: .utf8)) ?? "").suffix(4000))
    }

    /// Reads the port from chromedriver's "ChromeDriver was started successfully on port 41235."
    func waitForPort(until deadline: ContinuousClock.Instant) async throws -> Int {
        let marker = "started successfully on port "
        while true {
            let output = (try? String(contentsOf: logFile, encoding: .utf8)) ?? ""
            if let range = output.range(of: marker), let port = Int(output[range.upperBound...].prefix(while: \.isNumber)) {
                return port
            }
            try await checkStillStarting(until: deadline, waitingFor: "its port")
        }
    }

    func waitUntilReady(at baseURL: URL, until deadline: ContinuousClock.Instant) async throws {
        while true {
            let status = try? await WebDriverHTTP.request("GET", baseURL.appendingPathComponent("status"), timeout: .seconds(2))
            if status?["ready"]?.bool == true { return }
            try await checkStillStarting(until: deadline, waitingFor: "/status to say ready")
        }
    }

    /// Throws if chromedriver exited or the deadline passed; otherwise waits 100 ms for the next look.
    private func checkStillStarting(until deadline: ContinuousClock.Instant, waitingFor what: String) async throws {
        guard process.isRunning else {
            throw WebDriverError.driverDidNotStart(reason: "it exited with status \(process.terminationStatus)", log: log())
        }
        guard ContinuousClock.now < deadline else {
            throw WebDriverError.driverDidNotStart(reason: "timed out waiting for \(what)", log: log())
        }
        try await Task.sleep(for: .milliseconds(100))
    }

    func stop() {
        signalAll(SIGTERM)
        if !waitForAllToExit(within: .seconds(5)) {
            signalAll(SIGKILL)
            _ = waitForAllToExit(within: .seconds(2))
        }
        try? FileManager.default.removeItem(at: workDirectory)
    }

    private func signalAll(_ signal: Int32) {
        if process.isRunning {
            let pid = process.processIdentifier
            // Foundation starts a child as the leader of a process group of its own, which the
            // browser chromedriver starts joins; never signal a group that is not chromedriver's,
            // such as our own.
            kill(getpgid(pid) == pid ? -pid : pid, signal)
        }
        for pid in browserProcesses() { kill(pid, signal) }
    }

    private func waitForAllToExit(within timeout: Duration) -> Bool {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning || !browserProcesses().isEmpty {
            guard ContinuousClock.now < deadline else { return false }
            usleep(50_000)
        }
        return true
    }

    /// The live processes whose command line names the work directory: the browser and its
    /// helpers, wherever they went. Linux only (/proc); elsewhere, the process group must do.
    private func browserProcesses() -> [pid_t] {
        let needle = Data(workDirectory.path.utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { entry in
            guard let pid = pid_t(entry),
                  let commandLine = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline"),
                  commandLine.range(of: needle) != nil
            else { return nil }
            return pid
        }
    }
}

/// One browser session: a headless Chromium window of 1280×900 that the test drives (the page
/// gets 1280×757 of it: new headless mode keeps room for a browser's toolbars).
///
/// Commands do not wait for anything but the page load a navigation starts: wait for what a page
/// shows with `waitUntil`. End the session with `delete()`; `ChromeDriver.stop()` ends it anyway.
final class WebDriverSession: Sendable {
    let id: String
    private let sessionURL: URL

    init(driver: ChromeDriver, browser: URL = ChromeDriver.defaultBrowser) async throws {
        let chromeOptions: WebDriverValue = [
            "binary": .string(browser.path),
            "args": [
                "--headless=new",
                // As root Chromium will not start with its sandbox ("Running as root without
                // --no-sandbox is not supported"), and the tests run as root.
                "--no-sandbox",
                "--disable-gpu",
                // A container's /dev/shm is often too small for Chromium's shared memory.
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
            ],
        ]
        let capabilities: WebDriverValue = [
            "alwaysMatch": [
                "browserName": "chrome",
                "goog:chromeOptions": chromeOptions,
                // Below the 30 s of an HTTP request, so that a hung page is a WebDriver "timeout"
                // error rather than a dropped request.
                "timeouts": ["pageLoad": 20_000, "script": 20_000, "implicit": 0],
            ]
        ]
        let created = try await WebDriverHTTP.request(
            "POST", driver.baseURL.appendingPathComponent("session"), body: ["capabilities": capabilities], timeout: .seconds(60))
        guard let id = created["sessionId"]?.string else {
            throw WebDriverError.unexpectedAnswer("POST /session", status: 200, body: "\(created)")
        }
        self.id = id
        sessionURL = driver.baseURL.appendingPathComponent("session").appendingPathComponent(id)
    }

    /// Ends the session and closes the browser.
    func delete() async throws {
        _ = try await WebDriverHTTP.request("DELETE", sessionURL)
    }

    // MARK: Navigation and page

    /// Loads `url` and returns once the page has loaded.
    func navigate(to url: URL) async throws {
        _ = try await command("POST", "url", ["url": .string(url.absoluteString)])
    }

    func currentURL() async throws -> URL {
        let value = try await command("GET", "url")
        guard let text = value.string, let url = URL(string: text) else {
            throw WebDriverError.unexpectedAnswer("GET url", status: 200, body: "\(value)")
        }
        return url
    }

    func title() async throws -> String {
        try await string(from: "GET", "title")
    }

    /// The page's DOM serialized as HTML now, not the bytes the server sent.
    func pageSource() async throws -> String {
        try await string(from: "GET", "source")
    }

    /// Runs `script` as the body of a function in the page, with `args` as `arguments`, and
    /// returns what it returns; a promise is awaited.
    @discardableResult
    func executeScript(_ script: String, args: [String] = []) async throws -> WebDriverValue {
        try await command("POST", "execute/sync", ["script": .string(script), "args": .array(args.map(WebDriverValue.string))])
    }

    // MARK: Elements

    /// The first element that matches `css`; throws the WebDriver error "no such element" if none does.
    func findElement(css: String) async throws -> WebElement {
        try element(from: await command("POST", "element", ["using": "css selector", "value": .string(css)]))
    }

    /// Every element that matches `css`, in document order; empty if none does.
    func findElements(css: String) async throws -> [WebElement] {
        let value = try await command("POST", "elements", ["using": "css selector", "value": .string(css)])
        guard let elements = value.array else {
            throw WebDriverError.unexpectedAnswer("POST elements", status: 200, body: "\(value)")
        }
        return try elements.map(element(from:))
    }

    func click(_ element: WebElement) async throws {
        _ = try await command("POST", "element/\(element.id)/click", [:])
    }

    /// Types `text` into the element, as keystrokes, after what it already holds.
    func sendKeys(_ element: WebElement, _ text: String) async throws {
        _ = try await command("POST", "element/\(element.id)/value", ["text": .string(text)])
    }

    func clear(_ element: WebElement) async throws {
        _ = try await command("POST", "element/\(element.id)/clear", [:])
    }

    /// The element's text as rendered: what a person sees, with markup gone and entities decoded.
    func text(of element: WebElement) async throws -> String {
        try await string(from: "GET", "element/\(element.id)/text")
    }

    /// The attribute as the markup set it, or nil if the element has none: an input's `value`
    /// attribute stays what the server sent; `property(of:name: "value")` is what was typed.
    func attribute(of element: WebElement, name: String) async throws -> String? {
        try await command("GET", "element/\(element.id)/attribute/\(name)").string
    }

    /// The DOM property now, such as an input's `value` or a checkbox's `checked`.
    func property(of element: WebElement, name: String) async throws -> WebDriverValue {
        try await command("GET", "element/\(element.id)/property/\(name)")
    }

    // MARK: Alerts

    /// Presses OK on the open `alert`, `confirm` or `prompt`; throws "no such alert" if none is open.
    func acceptAlert() async throws {
        _ = try await command("POST", "alert/accept", [:])
    }

    /// Presses Cancel on the open `confirm` or `prompt`; throws "no such alert" if none is open.
    func dismissAlert() async throws {
        _ = try await command("POST", "alert/dismiss", [:])
    }

    // MARK: Cookies and screenshots

    /// The cookies the browser would send to the current page, HttpOnly ones included.
    func cookies() async throws -> [BrowserCookie] {
        let value = try await command("GET", "cookie")
        guard let cookies = value.array else {
            throw WebDriverError.unexpectedAnswer("GET cookie", status: 200, body: "\(value)")
        }
        return try cookies.map { cookie in
            guard let name = cookie["name"]?.string, let value = cookie["value"]?.string else {
                throw WebDriverError.unexpectedAnswer("GET cookie", status: 200, body: "\(cookie)")
            }
            return BrowserCookie(
                name: name, value: value, path: cookie["path"]?.string, domain: cookie["domain"]?.string,
                secure: cookie["secure"]?.bool ?? false, httpOnly: cookie["httpOnly"]?.bool ?? false,
                sameSite: cookie["sameSite"]?.string)
        }
    }

    /// The visible part of the page as a PNG.
    func screenshotPNG() async throws -> Data {
        let encoded = try await string(from: "GET", "screenshot")
        guard let png = Data(base64Encoded: encoded) else {
            throw WebDriverError.unexpectedAnswer("GET screenshot", status: 200, body: String(encoded.prefix(100)))
        }
        return png
    }

    /// Saves a screenshot as `<temporary directory>/payment-worker-screenshots/<name>.png` and
    /// returns where, so that a failing browser test can say what the page looked like.
    @discardableResult
    func saveScreenshot(named name: String) async throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("payment-worker-screenshots", isDirectory: true)
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let file = folder.appendingPathComponent(name.replacingOccurrences(of: "/", with: "_") + ".png")
        try await screenshotPNG().write(to: file)
        return file
    }

    // MARK: Waiting

    /// Waits until `condition` holds, through `eventually` (every 100 ms, with a deadline);
    /// a throw counts as "not yet", since a page that refreshes itself may replace an element
    /// between finding and reading it.
    func waitUntil(timeout: Duration = .seconds(10), description: String, _ condition: () async throws -> Bool) async throws {
        _ = try await eventually(description, timeout: timeout) { try await condition() ? true : nil }
    }

    // MARK: Plumbing

    private func command(_ method: String, _ path: String, _ body: WebDriverValue? = nil) async throws -> WebDriverValue {
        try await WebDriverHTTP.request(method, sessionURL.appendingPathComponent(path), body: body)
    }

    private func string(from method: String, _ path: String) async throws -> String {
        let value = try await command(method, path)
        guard let string = value.string else {
            throw WebDriverError.unexpectedAnswer("\(method) \(path)", status: 200, body: "\(value)")
        }
        return string
    }

    private func element(from value: WebDriverValue) throws -> WebElement {
        guard let id = value[WebElement.identifierKey]?.string else {
            throw WebDriverError.unexpectedAnswer("element reference", status: 200, body: "\(value)")
        }
        return WebElement(id: id)
    }
}
