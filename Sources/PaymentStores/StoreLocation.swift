import Foundation

/// Where the worker keeps its state, parsed from `--store` (docs/contract.md §7):
/// `sqlite:PATH` or a `postgres://` / `postgresql://` URL.
public enum StoreLocation: Sendable, Equatable, CustomStringConvertible {
    case sqlite(path: String)
    case postgres(url: String)

    public static let defaultValue = StoreLocation.sqlite(path: "./data/payments.sqlite")

    public init?(argument: String) {
        if argument.hasPrefix("sqlite:") {
            let path = String(argument.dropFirst("sqlite:".count))
            guard !path.isEmpty else { return nil }
            self = .sqlite(path: path)
        } else if argument.hasPrefix("postgres://") || argument.hasPrefix("postgresql://") {
            self = .postgres(url: argument)
        } else {
            return nil
        }
    }

    /// Never shows a password that the URL carries.
    public var description: String {
        switch self {
        case .sqlite(let path):
            return "sqlite:\(path)"
        case .postgres(let url):
            guard let schemeEnd = url.range(of: "://"),
                  let at = url[schemeEnd.upperBound...].lastIndex(of: "@")
            else { return url }
            let credentials = url[schemeEnd.upperBound..<at]
            guard let colon = credentials.firstIndex(of: ":") else { return url }
            return url[..<schemeEnd.upperBound] + credentials[..<colon] + ":***" + url[at...]
        }
    }
}
