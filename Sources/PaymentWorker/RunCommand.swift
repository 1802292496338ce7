import ArgumentParser
import Foundation
import Kafka
import Logging
import Metrics
import PaymentStores
import PaymentsDomain
import Prometheus
import ServiceLifecycle
import WorkerRuntime

/// `payment-worker run`: the worker. Settings come from `--config FILE`, the environment and
/// flags; a flag wins over the environment, which wins over the file.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the worker. With no bootstrap servers it starts a dev broker in-process and runs in dev mode.",
        discussion: WorkerOptions.settingsHelp)

    @OptionGroup var options: WorkerOptions

    func run() async throws {
        let settings: WorkerSettings
        do {
            settings = try await options.settings(environment: ProcessInfo.processInfo.environment)
            try settings.validate()
        } catch {
            throw ValidationError("configuration: \(error)")
        }
        // Everything that can be checked is, before the store is opened and the group joined.
        try OperationsPortCheck.ensureAvailable(host: settings.httpHost, port: settings.httpPort)
        PaymentWorkerCommand.bootstrapLogging(level: settings.shared.logLevel, format: settings.shared.logFormat)
        let logger = Logger(label: "payment-worker")
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))

        var services: [any Service] = []
        var bootstrap = settings.shared.bootstrapServers
        var devMode = settings.dev
        let topics = settings.shared.topics
        if bootstrap == nil {
            let broker = try KafkaDevBroker(brokerCount: 1, logger: logger)
            for topic in [topics.commands, topics.results, topics.errors, topics.dlq, topics.status] {
                try broker.createTopic(topic, partitions: 4)
            }
            FileHandle.standardOutput.write(Data((broker.bootstrapServers + "\n").utf8))
            logger.notice("no bootstrap servers given: started a dev broker in-process", metadata: ["bootstrap": "\(broker.bootstrapServers)"])
            bootstrap = broker.bootstrapServers
            devMode = true
            services.append(DevBrokerService(broker: broker))
        }
        let configuration = settings.workerConfiguration(bootstrapServers: bootstrap ?? "")

        guard let location = StoreLocation(argument: settings.store) else {
            throw ValidationError("--store takes sqlite:PATH or a postgres:// URL")
        }
        let paymentStore: any PaymentStore
        do {
            paymentStore = switch location {
            case .sqlite(let path): try SQLitePaymentStore(path: path)
            case .postgres(let url): try await PostgresPaymentStore(url: url, logger: logger)
            }
        } catch {
            throw StartupFailure(description: "the store \(location) could not be opened (--store, PAYMENT_WORKER_STORE): \((error as? StoreError)?.message ?? "\(error)")")
        }
        logger.notice("store opened", metadata: ["store": "\(location)"])

        var accounts: [PaymentsDomain.Account] = []
        if let path = settings.accountsFile {
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

        var plugins = PaymentWorkerCommand.plugins
        for command in settings.disabledCommands { plugins.disable(command) }
        let health = WorkerHealth()
        services.append(OperationsEndpoint(
            host: settings.httpHost, port: settings.httpPort, registry: registry, health: health, logger: logger))
        services.append(Worker(
            configuration: configuration, store: paymentStore, accounts: AccountDirectory(accounts), registry: plugins,
            reporting: WorkerReporting(health: health, logger: logger)))
        // Services stop in reverse order: the worker drains before the endpoint and the
        // embedded broker go.
        let group = ServiceGroup(
            configuration: ServiceGroupConfiguration(
                services: services.map { ServiceGroupConfiguration.ServiceConfiguration(service: $0) },
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await group.run()
    }
}

/// A start-up check that failed: one line naming the setting, and a non-zero exit.
struct StartupFailure: Error, CustomStringConvertible {
    let description: String
}
