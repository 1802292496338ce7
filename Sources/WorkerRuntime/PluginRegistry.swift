@_exported import PluginProtocol

/// Maps a `command` header to the plugin that handles it; a name with no enabled plugin is
/// `UNKNOWN_COMMAND`.
public struct PluginRegistry: Sendable {
    private var plugins: [String: any CommandPlugin.Type] = [:]

    public init() {}

    public mutating func register(_ plugin: any CommandPlugin.Type) {
        plugins[plugin.command] = plugin
    }

    public func plugin(for command: String) -> (any CommandPlugin.Type)? {
        plugins[command]
    }

    public var commands: [String] { plugins.keys.sorted() }
}
