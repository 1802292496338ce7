import Foundation

/// Keeps credentials out of every page, API answer and log line: a header or JSON field whose
/// name says it holds one is shown as `[redacted]`, and so is such a `name=value` pair in a
/// form-encoded body.
public enum Redaction {
    public static let placeholder = "[redacted]"
    private static let credentialWords = ["apikey", "api_key", "api-key", "token", "secret", "password", "authorization", "cookie", "credential"]

    public static func isCredential(name: String) -> Bool {
        let lowered = name.lowercased()
        return credentialWords.contains { lowered.contains($0) }
    }

    /// A header's value as the console may show it.
    public static func header(name: String, value: String) -> String {
        isCredential(name: name) ? placeholder : value
    }

    /// A message body as text the console may show: JSON with credential fields replaced,
    /// anything else with credential `name=value` pairs replaced; at most `limit` bytes.
    public static func body(_ bytes: [UInt8]?, limit: Int = 64 << 10) -> (text: String, truncated: Bool) {
        guard let bytes, !bytes.isEmpty else { return ("", false) }
        let truncated = bytes.count > limit
        if !truncated, let object = try? JSONSerialization.jsonObject(with: Data(bytes), options: [.fragmentsAllowed]),
           let data = try? JSONSerialization.data(
               withJSONObject: redacted(object), options: [.prettyPrinted, .sortedKeys, .fragmentsAllowed, .withoutEscapingSlashes]) {
            return (String(decoding: data, as: UTF8.self), false)
        }
        let text = String(decoding: bytes.prefix(limit), as: UTF8.self)
        return (redactedPairs(text), truncated)
    }

    static func redacted(_ value: Any) -> Any {
        if let object = value as? [String: Any] {
            return object.reduce(into: [String: Any]()) { result, entry in
                result[entry.key] = isCredential(name: entry.key) ? placeholder : redacted(entry.value)
            }
        }
        if let array = value as? [Any] { return array.map(redacted) }
        // A string may hold pairs or JSON of its own.
        if let text = value as? String { return redactedPairs(text) }
        return value
    }

    /// `apikey=...`, `"token": "..."`, `password: ...` and the like, wherever they stand in
    /// text that is not JSON as a whole.
    static func redactedPairs(_ text: String) -> String {
        // Without the pattern (it is a constant, so never), nothing of the text is shown.
        guard let credentialPair else { return placeholder }
        let range = NSRange(text.startIndex..., in: text)
        return credentialPair.stringByReplacingMatches(in: text, range: range, withTemplate: "$1$2" + placeholder)
    }

    /// A credential-like name, quoted or not, then `=` or `:`, then a quoted value (to its
    /// closing quote) or a bare one.
    private static let credentialPair: NSRegularExpression? = {
        let name = "[A-Za-z0-9_-]*(?:" + credentialWords.map(NSRegularExpression.escapedPattern(for:)).joined(separator: "|") + ")[A-Za-z0-9_-]*"
        let value = #""(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|[^&\s,;}"']*"#
        return try? NSRegularExpression(pattern: #"(?i)(["']?"# + name + #"["']?)(\s*[=:]\s*)(?:"# + value + ")")
    }()
}
