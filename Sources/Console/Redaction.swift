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
        return value
    }

    /// `apikey=...`, `token=...` and the like, wherever they stand in the text.
    static func redactedPairs(_ text: String) -> String {
        guard text.contains("=") else { return text }
        var result = ""
        result.reserveCapacity(text.utf8.count)
        var index = text.startIndex
        while let equals = text[index...].firstIndex(of: "=") {
            let nameStart = text[index..<equals].lastIndex { !($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
                .map { text.index(after: $0) } ?? index
            let name = text[nameStart..<equals]
            let valueEnd = text[text.index(after: equals)...].firstIndex { $0 == "&" || $0.isWhitespace || $0 == "," || $0 == ";" } ?? text.endIndex
            if !name.isEmpty && isCredential(name: String(name)) {
                result += text[index...equals] + placeholder
            } else {
                result += text[index..<valueEnd]
            }
            index = valueEnd
        }
        result += text[index...]
        return result
    }
}
