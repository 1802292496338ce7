import Foundation
import PackagePlugin

/// Generates the worker's list of command plugins from its dependencies on the package's
/// plugin targets (`plugins/<Name>`, each with a `<Name>Plugin` type), so that the one line
/// registering a command is its name in `Package.swift`.
@main
struct RegisterCommandPlugins: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let plugins = target.dependencies.compactMap { dependency -> String? in
            guard case .target(let module) = dependency,
                  module.directoryURL.deletingLastPathComponent().lastPathComponent == "plugins" else { return nil }
            return module.name
        }
        let output = context.pluginWorkDirectoryURL.appendingPathComponent("CommandPlugins.swift")
        return [.buildCommand(
            displayName: "Listing the command plugins of \(target.name)",
            executable: try context.tool(named: "CommandPluginList").url,
            arguments: [output.path] + plugins.sorted(),
            outputFiles: [output])]
    }
}
