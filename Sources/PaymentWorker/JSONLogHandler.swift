import Foundation
import Logging
import PaymentsDomain

/// One JSON object a line on standard error, for log shippers: `ts`, `level`, `logger`,
/// `message`, `source`, then the metadata as fields. swift-log ships only a text handler,
/// and no JSON handler is among this machine's packages.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = self.metadata
        if let provided = metadataProvider?.get() { fields.merge(provided) { $1 } }
        if let own = event.metadata { fields.merge(own) { $1 } }
        var members = [
            ("ts", Self.timestamp()), ("level", event.level.rawValue), ("logger", label),
            ("message", "\(event.message)"), ("source", event.source),
        ]
        for key in fields.keys.sorted() where !members.contains(where: { $0.0 == key }) {
            members.append((key, fields[key].map { "\($0)" } ?? ""))
        }
        let line = "{" + members.map { "\(JSONText.string($0.0)):\(JSONText.string($0.1))" }.joined(separator: ",") + "}\n"
        Self.output.withLock { FileHandle.standardError.write(Data(line.utf8)) }
    }

    private static let output = NSLock()

    private static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}
