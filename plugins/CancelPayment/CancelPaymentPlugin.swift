import Foundation
import PaymentsDomain
import PluginProtocol

/// CRM.COM `payments/cancel`: cancels a POSTED payment named by exactly one identifier and
/// answers with the payment and the POSTED cancellation, in CRM.COM's JSON envelope.
public struct CancelPaymentPlugin: CommandPlugin {
    public static let command = "CancelPayment"
    public static let http: HTTPBinding? = .post(path: "/payments/cancel")

    public init() {}

    static let paymentFields = ["id", "number", "reference_number", "life_cycle_state", "issued_on", "posted_on",
                                "payment_amount", "processed_by_payment_gateway", "payment_gateway_reference_number"]
    static let knownKeys: Set<String> = Set(["token", "payment_identifier", "type_identifier", "category_identifier", "notes",
                                             "back_office_code", "issue_reason", "fields_set"]
        + (1...CancellationDetails.udfStringCount).map { "udf_string_\($0)" }
        + (1...CancellationDetails.udfFloatCount).map { "udf_float_\($0)" }
        + (1...CancellationDetails.udfDateCount).map { "udf_date_\($0)" })

    public func credentials(_ request: CommandRequest) throws(DomainError) -> Credentials {
        guard case .string(let token)? = try Self.object(request)["token"], !token.isEmpty else {
            throw DomainError(.unauthorized, "CancelPayment needs a token in its body")
        }
        return .token(token)
    }

    public func decode(_ request: CommandRequest, account: Account) throws(DomainError) -> PluginWork {
        let body = try Self.object(request)
        if let unknown = body.keys.filter({ !Self.knownKeys.contains($0) }).sorted().first {
            throw DomainError(.validation, "unknown field '\(unknown)'")
        }
        let identifier = try Self.paymentIdentifier(body["payment_identifier"])
        let type = try Self.identifier(body["type_identifier"], name: "type_identifier", keys: ["id", "name", "alternative_code"], required: true)
        let typeId = try account.transactionType(id: type?["id"], name: type?["name"], alternativeCode: type?["alternative_code"]).id
        var categoryId: String?
        if let category = try Self.identifier(body["category_identifier"], name: "category_identifier", keys: ["id", "name", "code"], required: false) {
            categoryId = try account.transactionCategory(id: category["id"], name: category["name"], code: category["code"]).id
        }
        let details = CancellationDetails(
            typeId: typeId, categoryId: categoryId,
            notes: try Self.text(body, "notes", limit: 4_000),
            backOfficeCode: try Self.text(body, "back_office_code", limit: 255),
            issueReason: try Self.text(body, "issue_reason", limit: 4_000),
            udfStrings: try (1...CancellationDetails.udfStringCount).map { index throws(DomainError) in try Self.text(body, "udf_string_\(index)", limit: 255) },
            udfFloats: try (1...CancellationDetails.udfFloatCount).map { index throws(DomainError) in try Self.decimal(body, "udf_float_\(index)") },
            udfDates: try (1...CancellationDetails.udfDateCount).map { index throws(DomainError) in try Self.date(body, "udf_date_\(index)") })
        let fields = try Self.fieldsSet(body)
        return .write(CancelPaymentWrite(request: CancelPaymentRequest(payment: identifier, details: details)) { payment, cancellation in
            Self.reply(payment, cancellation, fields: fields)
        })
    }

    /// CRM.COM's envelope with the payment and its cancellation, limited to `fields_set`.
    static func reply(_ payment: Payment, _ cancellation: PaymentCancellation, fields: Set<String>?) -> StoredReply {
        let data = "{\"payment\":\(json(payment, fields: fields)),\"payment_cancellation\":\(json(cancellation, fields: fields))}"
        return StoredReply(
            status: ReplyStatus.ok.rawValue, contentType: "application/json",
            body: Array("{\"status\":{\"message\":null,\"description\":null,\"code\":\"OK\"},\"data\":\(data)}".utf8))
    }

    /// CRM.COM's envelope with the code in `status.code` and no data.
    public static let errorReplyFormat = ErrorReplyFormat.crmEnvelope

    // MARK: - Reading the request

    /// The body as a JSON object, read strictly (RFC 8259, docs/contract.md §3).
    static func object(_ request: CommandRequest) throws(DomainError) -> [String: JSONValue] {
        let parsed: JSONValue
        do {
            parsed = try JSONValue.parse(request.body)
        } catch {
            throw DomainError(.malformed, "the body is not JSON (RFC 8259): \(error)")
        }
        guard case .object(let object) = parsed else { throw DomainError(.malformed, "the body is not a JSON object") }
        return object
    }

    private static func paymentIdentifier(_ value: JSONValue?) throws(DomainError) -> PaymentIdentifier {
        guard case .object(let object)? = value else {
            throw DomainError(.validation, "payment_identifier is required: an object with one of id, number, reference_number, back_office_code")
        }
        let given = object.filter { !$0.value.isNull }
        guard given.count == 1, let (key, raw) = given.first else {
            throw DomainError(.validation, "payment_identifier needs exactly one of id, number, reference_number, back_office_code")
        }
        guard let text = raw.scalarText, !text.isEmpty else {
            throw DomainError(.validation, "payment_identifier.\(key) must be a string")
        }
        switch key {
        case "id", "number":
            guard let value = Int64(text), value > 0 else {
                throw DomainError(.validation, "payment_identifier.\(key) '\(text)' is not a \(key == "id" ? "payment id" : "payment number")")
            }
            return key == "id" ? .id(value) : .number(value)
        case "reference_number": return .referenceNumber(text)
        case "back_office_code": return .backOfficeCode(text)
        default:
            throw DomainError(.validation, "payment_identifier.\(key) is not an identifier; use id, number, reference_number or back_office_code")
        }
    }

    private static func identifier(_ value: JSONValue?, name: String, keys: Set<String>, required: Bool) throws(DomainError) -> [String: String]? {
        guard let value, !value.isNull else {
            if required { throw DomainError(.validation, "\(name) is required") }
            return nil
        }
        guard case .object(let object) = value else { throw DomainError(.validation, "\(name) must be an object") }
        var result: [String: String] = [:]
        for (key, raw) in object where !raw.isNull {
            guard keys.contains(key) else {
                throw DomainError(.validation, "\(name).\(key) is not an identifier; use \(keys.sorted().joined(separator: ", "))")
            }
            guard let text = raw.scalarText else { throw DomainError(.validation, "\(name).\(key) must be a string") }
            result[key] = text
        }
        return result
    }

    private static func text(_ body: [String: JSONValue], _ key: String, limit: Int) throws(DomainError) -> String? {
        guard let raw = body[key], !raw.isNull else { return nil }
        guard case .string(let text) = raw else { throw DomainError(.validation, "\(key) must be a string") }
        guard text.utf8.count <= limit else { throw DomainError(.validation, "\(key) is longer than \(limit) bytes") }
        guard !text.utf8.contains(0) else { throw DomainError(.validation, "\(key) contains a NUL character") }
        return text
    }

    private static func decimal(_ body: [String: JSONValue], _ key: String) throws(DomainError) -> String? {
        guard let raw = body[key], !raw.isNull else { return nil }
        guard let text = raw.scalarText, Double(text)?.isFinite == true else { throw DomainError(.validation, "\(key) must be a number") }
        return text
    }

    private static func date(_ body: [String: JSONValue], _ key: String) throws(DomainError) -> UTCDateTime? {
        guard let raw = body[key], !raw.isNull else { return nil }
        guard case .string(let text) = raw else { throw DomainError(.validation, "\(key) must be a date string") }
        do { return try UTCDateTime(parsing: text) } catch { throw DomainError(.validation, "\(key): \(error.message)") }
    }

    /// `fields_set`: a comma-separated string (or a list) of the fields to return.
    static func fieldsSet(_ body: [String: JSONValue]) throws(DomainError) -> Set<String>? {
        guard let raw = body["fields_set"], !raw.isNull else { return nil }
        let names: [String]
        switch raw {
        case .string(let text):
            names = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        case .array(let list):
            names = list.compactMap(\.scalarText)
        default:
            throw DomainError(.validation, "fields_set must be a comma-separated list of field names")
        }
        if let unknown = names.first(where: { !paymentFields.contains($0) }) {
            throw DomainError(.validation, "fields_set: unknown field '\(unknown)'; the fields are \(paymentFields.joined(separator: ", "))")
        }
        return Set(names)
    }

    // MARK: - Writing the reply

    private static func json(_ payment: Payment, fields: Set<String>?) -> String {
        object([
            ("id", JSONText.string(String(payment.id))), ("number", JSONText.string(String(payment.number))),
            ("reference_number", JSONText.string(payment.importedRef)), ("life_cycle_state", JSONText.string(payment.lifeCycleState.rawValue)),
            ("issued_on", JSONText.string(payment.createdDate.crm)), ("posted_on", JSONText.string(payment.date?.crm)),
            ("payment_amount", payment.amount.description),
            ("processed_by_payment_gateway", "null"), ("payment_gateway_reference_number", "null"),
        ], fields: fields)
    }

    private static func json(_ cancellation: PaymentCancellation, fields: Set<String>?) -> String {
        object([
            ("id", JSONText.string(String(cancellation.id))), ("number", JSONText.string(String(cancellation.number))),
            ("reference_number", JSONText.string(cancellation.referenceNumber)),
            ("life_cycle_state", JSONText.string(cancellation.lifeCycleState.rawValue)),
            ("issued_on", JSONText.string(cancellation.issuedOn.crm)), ("posted_on", JSONText.string(cancellation.postedOn.crm)),
            ("payment_amount", cancellation.amount.description),
            ("processed_by_payment_gateway", "null"), ("payment_gateway_reference_number", "null"),
        ], fields: fields)
    }

    private static func object(_ members: [(String, String)], fields: Set<String>?) -> String {
        "{" + members.filter { fields?.contains($0.0) ?? true }.map { "\"\($0.0)\":\($0.1)" }.joined(separator: ",") + "}"
    }
}
