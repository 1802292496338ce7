@_exported import PluginProtocol

/// Maps a `command` header to the enabled plugin that handles it; a name with no enabled
/// plugin is `UNKNOWN_COMMAND`.
public struct PluginRegistry: Sendable {
    private var plugins: [String: any CommandPlugin] = [:]

    public init() {}

    public init(_ plugins: [any CommandPlugin]) {
        for plugin in plugins { register(plugin) }
    }

    public mutating func register(_ plugin: any CommandPlugin) {
        plugins[type(of: plugin).command] = plugin
    }

    /// Disables a command: it is then `UNKNOWN_COMMAND`.
    public mutating func disable(_ command: String) {
        plugins[command] = nil
    }

    public func plugin(for command: String) -> (any CommandPlugin)? {
        plugins[command]
    }

    public var commands: [String] { plugins.keys.sorted() }

    /// How each command served over HTTP is reached, as its plugin declares.
    public var httpBindings: [String: HTTPBinding] {
        plugins.compactMapValues { type(of: $0).http }
    }

    /// The commands whose CSV imports may be cut into chunks, as their plugins declare.
    public var chunkedImportCommands: Set<String> {
        Set(plugins.values.map { type(of: $0) }.filter { $0.acceptsChunkedImports }.map { $0.command })
    }
}
