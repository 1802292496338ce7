import Foundation
import HTTPTypes
import Kafka
import PaymentsDomain

/// How a reply is answered over HTTP (docs/contract.md §8): its body and content type; 200 for `ok`
/// and `partial`, for `error` a status by its code.
enum ReplyResponse {
    static func status(of reply: KafkaConsumerMessage) -> HTTPResponse.Status {
        guard reply.headers.string(named: "status") == "error" else { return .ok }
        return status(forCode: errorCode(in: reply.value ?? []))
    }

    static func status(forCode code: String?) -> HTTPResponse.Status {
        switch code.map(DomainError.Code.init(rawValue:)) ?? .internal {
        case .unauthorized: .unauthorized
        case .notFound: .notFound
        case .invalidState, .duplicate, .idempotencyConflict: .conflict
        case .tooLarge: .contentTooLarge
        case .unknownCommand, .malformed, .invalidQuery, .validation: .badRequest
        default: .internalServerError
        }
    }

    /// The code of an error reply: Cin7's `{"code":...}` or CRM.COM's `{"status":{"code":...}}`.
    static func errorCode(in body: [UInt8]) -> String? {
        error(in: body)?.code
    }

    /// The code and message of an error reply: Cin7's `{"code","message"}` or CRM.COM's
    /// `{"status":{"code","message"}}`.
    static func error(in body: [UInt8]) -> (code: String, message: String)? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        let fields = object["code"] is String ? object : object["status"] as? [String: Any]
        guard let code = fields?["code"] as? String else { return nil }
        return (code, fields?["message"] as? String ?? "")
    }
}

extension ChunkReplies.Answer {
    /// A chunk's reply as `ChunkReplies` takes it.
    public init(reply: KafkaConsumerMessage) {
        let body = reply.value ?? []
        switch reply.headers.string(named: "status") {
        case "ok": self = .rows(partial: false, body: body)
        case "partial": self = .rows(partial: true, body: body)
        default:
            let error = ReplyResponse.error(in: body)
            self = .refused(code: error?.code ?? "INTERNAL", message: error?.message ?? String(decoding: body, as: UTF8.self))
        }
    }
}
