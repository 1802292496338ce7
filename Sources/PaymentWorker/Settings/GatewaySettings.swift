import Gateway
import Kafka
import WorkerRuntime

/// Everything `gateway` is configured with (docs/contract.md §8), read as `run`'s settings are:
/// flags over `PAYMENT_GATEWAY_*` over the JSON file. The Kafka connection, the topics and the
/// logging are the entries every process shares.
struct GatewaySettings: ListeningSettings {
    static let environmentPrefix = "PAYMENT_GATEWAY"

    var shared = SharedSettings()
    var listen = "127.0.0.1:8081"
    var gateway = GatewayConfiguration(
        kafka: KafkaConfiguration(bootstrapServers: []), commandsTopic: WorkerConfiguration.Topics().commands,
        resultsTopic: WorkerConfiguration.Topics().results)

    static var declarations: [Setting<GatewaySettings>] {
        [
            .bootstrapServers(help: "Kafka bootstrap servers, host:port,... (required)."),
            .text("listen", \.listen, help: "Where to serve HTTP, HOST:PORT; port 0 picks a free one."),
            .seconds("reply_timeout_seconds", \.gateway.replyTimeout, atLeast: 0,
                     help: "How long a request waits for its reply before it is answered 202 with a Location."),
            .number("max_pending", \.gateway.maxPending, atLeast: 1, help: "Requests waiting for replies at once; one more is 503."),
            .number("max_body_bytes", \.gateway.maxBodyBytes, atLeast: 1,
                    help: "The largest request body; a larger one is 413. An import larger than one Kafka message goes in chunks."),
            .number("import_chunk_lines", \.gateway.linesPerChunk, atLeast: 1,
                    help: "Most lines in one chunk of a large import (each chunk also fits one Kafka message)."),
            .commandsTopic, .resultsTopic,
            .kafkaProperties,
            .logLevel, .logFormat,
        ]
    }

    static let clientGroupID = "payment-gateway"

    func validate() throws {
        try validateListeningProcess()
    }

    /// The gateway's configuration, with the Kafka connection, the topics and the commands
    /// that may be sent in chunks.
    var gatewayConfiguration: GatewayConfiguration? {
        guard let address = listenAddress, let servers = shared.bootstrapServers else { return nil }
        var configuration = gateway
        configuration.kafka = shared.kafka(bootstrapServers: servers, clientID: "payment-gateway")
        configuration.host = address.host
        configuration.port = address.port
        configuration.commandsTopic = shared.topics.commands
        configuration.resultsTopic = shared.topics.results
        configuration.chunkedImportCommands = PaymentWorkerCommand.chunkedImportCommands
        configuration.routes = PaymentWorkerCommand.gatewayRoutes
        return configuration
    }
}
