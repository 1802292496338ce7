import Foundation

// Writes `CommandPlugins.all`: an instance of each plugin module's `<Module>` type. Called by
// the RegisterCommandPlugins build tool with the output path and the modules' names.
let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: CommandPluginList <output.swift> <PluginModule>...\n".utf8))
    exit(2)
}
let modules = arguments.dropFirst()
let source = """
    // Generated at build time from the plugin targets in Package.swift; do not edit.
    import WorkerRuntime
    \(modules.map { "import \($0)" }.joined(separator: "\n"))

    enum CommandPlugins {
        /// Every command plugin this build has.
        static var all: [any CommandPlugin] { [\(modules.map { "\($0)()" }.joined(separator: ", "))] }
    }

    """
do {
    try Data(source.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
} catch {
    FileHandle.standardError.write(Data("CommandPluginList: cannot write \(output): \(error)\n".utf8))
    exit(1)
}
