import Console
import Foundation
import Kafka

/// Everything `console` is configured with (docs/contract.md §9), read as the other processes'
/// settings are: flags over `PAYMENT_CONSOLE_*` over the JSON file.
struct ConsoleSettings: ListeningSettings {
    static let environmentPrefix = "PAYMENT_CONSOLE"
    /// Shorter tokens are refused: a placeholder left in a deployment must not work.
    static let minimumTokenLength = 16

    var shared = SharedSettings()
    var listen = "127.0.0.1:8082"
    var token = ""
    var tokenFile: String?
    var pageSize = 50
    var replayTimeout: Duration = .seconds(15)
    var secureCookie = false

    static var declarations: [Setting<ConsoleSettings>] {
        [
            .bootstrapServers(help: "Kafka bootstrap servers, host:port,... (required)."),
            .text("listen", \.listen, help: "Where to serve the console, HOST:PORT; port 0 picks a free one."),
            .text("token", \.token, secret: true,
                  help: "The operator token (at least \(minimumTokenLength) characters); prefer the environment or token_file to a flag."),
            .optionalText("token_file", \.tokenFile, help: "A file holding the operator token (surrounding white space ignored)."),
            .number("page_size", \.pageSize, atLeast: 1, atMost: 1_000, help: "Rows on an errors or DLQ page."),
            .seconds("replay_timeout_seconds", \.replayTimeout, atLeast: 1,
                     help: "How long a DLQ replay waits for the reply or error event of each message."),
            .switchFlag("secure_cookie", \.secureCookie,
                        help: "Mark the session cookie Secure: for a console reached over HTTPS (behind a TLS proxy)."),
            .commandsTopic, .resultsTopic, .errorsTopic, .dlqTopic, .statusTopic,
            .kafkaProperties,
            .logLevel, .logFormat,
        ]
    }

    static let clientGroupID = "payment-console"

    func validate() throws {
        try validateListeningProcess()
        _ = try operatorToken()
    }

    /// The operator token from `token` or `token_file` (one of them, not both). Never shown.
    func operatorToken() throws -> String {
        let token: String
        switch (self.token.isEmpty ? nil : self.token, tokenFile) {
        case (nil, nil):
            throw SettingsFault(description: "token: required: the console serves no one without an operator token "
                + "(PAYMENT_CONSOLE_TOKEN or --token-file FILE)")
        case (.some, .some):
            throw SettingsFault(description: "token and token_file: give one of them, not both")
        case (.some(let given), nil):
            token = given
        case (nil, .some(let path)):
            do {
                token = try String(contentsOfFile: path, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw SettingsFault(description: "token_file: cannot read '\(path)': \(error.localizedDescription)")
            }
        }
        guard token.count >= Self.minimumTokenLength else {
            throw SettingsFault(description: "token: at least \(Self.minimumTokenLength) characters (make one with "
                + "`od -An -N32 -tx1 /dev/urandom | tr -d ' \\n'`)")
        }
        return token
    }

    /// The console's configuration; the token is kept only as its hash.
    func consoleConfiguration() throws -> ConsoleConfiguration {
        guard let address = listenAddress, let servers = shared.bootstrapServers else {
            throw SettingsFault(description: "bootstrap_servers and listen are required")
        }
        let topics = shared.topics
        var configuration = ConsoleConfiguration(
            kafka: shared.kafka(bootstrapServers: servers, clientID: "payment-console"),
            topics: ConsoleConfiguration.Topics(
                commands: topics.commands, results: topics.results, errors: topics.errors, dlq: topics.dlq, status: topics.status),
            tokenHash: OperatorAccess.hash(token: try operatorToken()))
        configuration.host = address.host
        configuration.port = address.port
        configuration.pageSize = pageSize
        configuration.replayTimeout = replayTimeout
        configuration.secureCookie = secureCookie
        return configuration
    }
}
