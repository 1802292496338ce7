import ArgumentParser
import Logging

@main
struct PaymentWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payment-worker",
        abstract: "Consumes payment commands from Kafka and publishes their replies.",
        subcommands: [RunCommand.self, SendCommand.self, AccountsCommand.self, BrokerCommand.self]
    )

    /// Logs go to standard error: standard output carries what commands print for scripts.
    static func bootstrapLogging(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
    }
}
