import ArgumentParser
import Gateway
import Logging
import WorkerRuntime

@main
struct PaymentWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payment-worker",
        abstract: "Consumes payment commands from Kafka and publishes their replies.",
        subcommands: [RunCommand.self, SendCommand.self, TailCommand.self, DLQCommand.self, ConsoleCommand.self, AccountsCommand.self,
                      ConfigCommand.self, BrokerCommand.self, GatewayCommand.self]
    )

    /// Every handler plugin this build has (Package.swift's `pluginNames`), all enabled.
    static var plugins: PluginRegistry {
        PluginRegistry(CommandPlugins.all)
    }

    /// Where the gateway serves each command, as its plugin declares.
    static var gatewayRoutes: GatewayRoutes {
        var routes = GatewayRoutes()
        for (command, binding) in plugins.httpBindings {
            switch binding {
            case .cin7(let reads): routes.cin7[command] = reads
            case .post(let path): routes.posts[path] = command
            }
        }
        return routes
    }

    /// The commands whose CSV imports may be cut into chunks, as their plugins declare.
    static var chunkedImportCommands: Set<String> {
        plugins.chunkedImportCommands
    }

    /// Logs go to standard error: standard output carries what commands print for scripts.
    static func bootstrapLogging(level: Logger.Level, format: SharedSettings.LogFormat = .text) {
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = switch format {
            case .text: StreamLogHandler.standardError(label: label)
            case .json: JSONLogHandler(label: label)
            }
            handler.logLevel = level
            return handler
        }
    }
}
