import Foundation
import HTTPTypes
import Kafka
import PaymentsDomain

/// How a reply is answered over HTTP (DESIGN.md §8): its body and content type; 200 for `ok`
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
        guard let object = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { return nil }
        if let code = object["code"] as? String { return code }
        return (object["status"] as? [String: Any])?["code"] as? String
    }
}
