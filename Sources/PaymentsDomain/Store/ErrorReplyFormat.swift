/// A reply's `status` header.
public enum ReplyStatus: String, Sendable {
    case ok, partial, error
}

/// How a command's error reply is written (docs/contract.md §4). Plain data, so that a store
/// records a refusal (in the command's transaction) without calling back into a plugin.
public enum ErrorReplyFormat: Sendable, Hashable {
    /// Cin7 API Lite: `{"code":"...","message":"..."}`.
    case cin7
    /// CRM.COM's envelope: `{"status":{"message","description","code"},"data":null}`.
    case crmEnvelope

    public func reply(for error: DomainError) -> StoredReply {
        let code = JSONText.string(error.code.rawValue)
        let message = JSONText.string(error.message)
        let body = switch self {
        case .cin7: #"{"code":\#(code),"message":\#(message)}"#
        case .crmEnvelope: #"{"status":{"message":\#(message),"description":\#(message),"code":\#(code)},"data":null}"#
        }
        return StoredReply(status: ReplyStatus.error.rawValue, contentType: "application/json", body: Array(body.utf8), error: error)
    }
}

/// JSON text for hand-built replies, where the field order and number format matter.
public enum JSONText {
    public static func string(_ value: String?) -> String {
        guard let value else { return "null" }
        var text = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where scalar.value < 0x20: text += String(format: "\\u%04x", scalar.value)
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }
}
