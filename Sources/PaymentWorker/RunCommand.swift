import ArgumentParser
import CancelPaymentPlugin
import DeletePaymentsPlugin
import CProcessTuning
import Foundation
import GetPaymentsPlugin
import Kafka
import Logging
import PaymentStores
import PaymentsDomain
import ServiceLifecycle
import UpdateOrdersPlugin
import UpdatePaymentsPlugin
import WorkerRuntime

/// `payment-worker run`: the worker. Every option can also come from the environment
/// variable named in its help; a flag wins over the environment.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the worker. With no bootstrap servers it starts a dev broker in-process and runs in dev mode.")

    @Option(help: "Kafka bootstrap servers, host:port,... (PAYMENT_WORKER_BOOTSTRAP_SERVERS). None: an embedded dev broker.")
    var bootstrapServers: String?

    @Option(help: "Consumer group (PAYMENT_WORKER_GROUP_ID, default payment-worker).")
    var groupId: String?

    @Option(help: "sqlite:PATH or postgres://... (PAYMENT_WORKER_STORE, default sqlite:./data/payments.sqlite).")
    var store: String?

    @Flag(help: "Provision the seed examples' account and order (PAYMENT_WORKER_DEV=1).")
    var dev = false

    @Option(help: "The accounts file, as 'accounts add' writes it (PAYMENT_WORKER_ACCOUNTS_FILE).")
    var accountsFile: String?

    @Option(help: "Commands topic (PAYMENT_WORKER_COMMANDS_TOPIC).") var commandsTopic: String?
    @Option(help: "Results topic (PAYMENT_WORKER_RESULTS_TOPIC).") var resultsTopic: String?
    @Option(help: "Errors topic (PAYMENT_WORKER_ERRORS_TOPIC).") var errorsTopic: String?
    @Option(help: "DLQ topic (PAYMENT_WORKER_DLQ_TOPIC).") var dlqTopic: String?

    @Option(name: .customLong("kafka-property"), help: "Any librdkafka property, name=value (repeatable).")
    var kafkaProperties: [String] = []

    @Option(help: "Attempts for a transient failure before the DLQ (PAYMENT_WORKER_RETRY_ATTEMPTS, default 5).")
    var retryAttempts: Int?

    @Option(help: "Largest command body in bytes (PAYMENT_WORKER_MAX_MESSAGE_BYTES, default 16 MiB).")
    var maxMessageBytes: Int?

    @Option(help: "Most lines in one CSV command (PAYMENT_WORKER_MAX_LINES, default 100000).")
    var maxLines: Int?

    @Option(name: .customLong("disable-command"),
            help: "A command to turn off; it is then UNKNOWN_COMMAND (repeatable; PAYMENT_WORKER_DISABLED_COMMANDS, comma-separated).")
    var disabledCommands: [String] = []

    @Flag(help: "Benchmark baseline: answer every command ok, unread and unstored.")
    var passthrough = false

    @Option(help: "Log level (PAYMENT_WORKER_LOG_LEVEL, default info).")
    var logLevel: Logger.Level?

    func run() async throws {
        Self.limitMallocArenas()
        let environment = ProcessInfo.processInfo.environment
        func setting(_ flag: String?, _ variable: String) -> String? { flag ?? environment["PAYMENT_WORKER_\(variable)"] }

        PaymentWorkerCommand.bootstrapLogging(level: logLevel ?? setting(nil, "LOG_LEVEL").flatMap(Logger.Level.init(rawValue:)) ?? .info)
        let logger = Logger(label: "payment-worker")

        var services: [any Service] = []
        var bootstrap = setting(bootstrapServers, "BOOTSTRAP_SERVERS")
        var devMode = dev || ["1", "true", "yes"].contains(environment["PAYMENT_WORKER_DEV"]?.lowercased() ?? "")
        var topics = WorkerConfiguration.Topics()
        topics.commands = setting(commandsTopic, "COMMANDS_TOPIC") ?? topics.commands
        topics.results = setting(resultsTopic, "RESULTS_TOPIC") ?? topics.results
        topics.errors = setting(errorsTopic, "ERRORS_TOPIC") ?? topics.errors
        topics.dlq = setting(dlqTopic, "DLQ_TOPIC") ?? topics.dlq

        if bootstrap == nil {
            let broker = try KafkaDevBroker(brokerCount: 1, logger: logger)
            for topic in [topics.commands, topics.results, topics.errors, topics.dlq] {
                try broker.createTopic(topic, partitions: 4)
            }
            FileHandle.standardOutput.write(Data((broker.bootstrapServers + "\n").utf8))
            logger.notice("no bootstrap servers given: started a dev broker in-process", metadata: ["bootstrap": "\(broker.bootstrapServers)"])
            bootstrap = broker.bootstrapServers
            devMode = true
            services.append(DevBrokerService(broker: broker))
        }

        var properties: [String: String] = [:]
        for property in kafkaProperties {
            let parts = property.split(separator: "=", maxSplits: 1)
            guard parts.count == 2 else { throw ValidationError("--kafka-property takes name=value, not '\(property)'") }
            properties[String(parts[0])] = String(parts[1])
        }
        var configuration = WorkerConfiguration(kafka: KafkaConfiguration(
            bootstrapServers: (bootstrap ?? "").split(separator: ",").map(String.init), clientID: "payment-worker", properties: properties))
        configuration.groupID = setting(groupId, "GROUP_ID") ?? configuration.groupID
        configuration.passthrough = passthrough
        configuration.topics = topics
        if let attempts = retryAttempts ?? setting(nil, "RETRY_ATTEMPTS").flatMap({ Int($0) }) { configuration.retry.attempts = max(1, attempts) }
        if let bytes = maxMessageBytes ?? setting(nil, "MAX_MESSAGE_BYTES").flatMap({ Int($0) }) {
            configuration.maxMessageBytes = bytes
            configuration.limits.csv.maxBytes = bytes
        }
        if let lines = maxLines ?? setting(nil, "MAX_LINES").flatMap({ Int($0) }) { configuration.limits.csv.maxRecords = lines }

        let storeArgument = setting(store, "STORE") ?? "sqlite:./data/payments.sqlite"
        guard let location = StoreLocation(argument: storeArgument) else {
            throw ValidationError("--store takes sqlite:PATH or a postgres:// URL")
        }
        let paymentStore: any PaymentStore = switch location {
        case .sqlite(let path): try SQLitePaymentStore(path: path)
        case .postgres(let url): try await PostgresPaymentStore(url: url, logger: logger)
        }
        logger.notice("store opened", metadata: ["store": "\(location)"])

        var accounts: [PaymentsDomain.Account] = []
        if let path = setting(accountsFile, "ACCOUNTS_FILE") {
            accounts = try AccountsFile.load(path).directory.accounts
            logger.notice("accounts loaded", metadata: ["file": "\(path)", "accounts": "\(accounts.map(\.apiId))"])
        }
        if devMode, !accounts.contains(where: { $0.apiId == AccountDirectory.seedAccount.apiId }) {
            accounts.append(AccountDirectory.seedAccount)
        }
        if devMode {
            try await paymentStore.provision(order: AccountDirectory.seedOrder, account: AccountDirectory.seedAccount.apiId)
            logger.notice("dev mode: provisioned the seed examples' account (apiid 123, its apikey and CRM token) and order Ref123")
        }

        var registry = PluginRegistry([
            UpdateOrdersPlugin(), UpdatePaymentsPlugin(), GetPaymentsPlugin(), DeletePaymentsPlugin(), CancelPaymentPlugin(),
        ])
        let disabled = disabledCommands + (setting(nil, "DISABLED_COMMANDS")?.split(separator: ",").map(String.init) ?? [])
        for command in disabled {
            guard registry.plugin(for: command) != nil else {
                throw ValidationError("--disable-command: there is no command '\(command)'; the commands are \(registry.commands.joined(separator: ", "))")
            }
            registry.disable(command)
        }
        let worker = Worker(
            configuration: configuration, store: paymentStore, accounts: AccountDirectory(accounts), registry: registry, logger: logger)
        services.append(worker)
        // Services stop in reverse order: the worker drains before the embedded broker goes.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

extension RunCommand {
    /// glibc gives every thread that allocates its own arena, up to 8 per core, and keeps
    /// what each frees: with librdkafka's, GRDB's and the task pool's threads that was a fifth
    /// of the worker's peak memory (README, "Figures"). Two arenas cost no measurable speed.
    /// `MALLOC_ARENA_MAX` in the environment still wins.
    static func limitMallocArenas() {
        if ProcessInfo.processInfo.environment["MALLOC_ARENA_MAX"] == nil { _ = process_tuning_limit_malloc_arenas(2) }
    }
}
