import Foundation
import HTTPTypes
import Kafka
import PaymentsDomain

/// How a reply is answered over HTTP (docs/contract.md §8): its body and content type; 200 for `ok`
/// and `partial`, for `error` a status by its code.
enum ReplyResponse {
    static func status(of reply: KafkaConsumerMessage) -> HTTPResponse.Status {
        guard reply.headers.string(named: "status") == "error" else { return .ok }
        return status(forCode: reply.headers.string(named: "error-code"))
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
}

extension ChunkReplies.Answer {
    /// A chunk's reply as `ChunkReplies` takes it.
    public init(reply: KafkaConsumerMessage) {
        let body = reply.value ?? []
        switch reply.headers.string(named: "status") {
        case "ok": self = .rows(partial: false, body: body)
        case "partial": self = .rows(partial: true, body: body)
        default:
            // The code and message are the reply's headers: its body is the client's to read.
            self = .refused(code: reply.headers.string(named: "error-code") ?? "INTERNAL",
                            message: reply.headers.string(named: "error-message") ?? "")
        }
    }
}
