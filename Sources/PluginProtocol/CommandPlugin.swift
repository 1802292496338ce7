/// A handler for one command name. A plugin sees the payments domain and this protocol,
/// never Kafka.
public protocol CommandPlugin: Sendable {
    /// The value of the `command` header this plugin handles.
    static var command: String { get }
}
