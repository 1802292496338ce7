/// A GetPayments or DeletePayments request: which fields, which rows, in which order.
public struct PaymentQuery: Sendable, Hashable {
    public struct OrderTerm: Sendable, Hashable {
        public var field: PaymentField
        public var descending: Bool

        public init(field: PaymentField, descending: Bool = false) {
            self.field = field
            self.descending = descending
        }
    }

    public var fields: [PaymentField]
    public var filter: WhereExpression?
    /// Always ends with PaymentId, so equal sort keys come back in a stable order.
    public var orderBy: [OrderTerm]

    public init(fields: [PaymentField] = PaymentField.getDefaults, filter: WhereExpression? = nil, orderBy: [OrderTerm] = []) {
        self.fields = fields
        self.filter = filter
        self.orderBy = orderBy
        if !orderBy.contains(where: { $0.field == .paymentId }) {
            self.orderBy.append(OrderTerm(field: .paymentId))
        }
    }

    /// Parses the Cin7 URL query `fields=...&where=...&orderby=...` (percent-decoded, `+` is
    /// a space). Parameter names are case-insensitive; any other parameter is an error.
    public static func parse(urlQuery: String, limits: QueryLimits = QueryLimits()) throws(DomainError) -> PaymentQuery {
        var parameters: [String: String] = [:]
        for pair in urlQuery.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = try percentDecoded(parts[0], what: "a parameter name").lowercased()
            guard ["fields", "where", "orderby"].contains(name) else {
                throw DomainError(.invalidQuery, "unknown parameter '\(name)'; the parameters are fields, where and orderby")
            }
            guard parameters[name] == nil else {
                throw DomainError(.invalidQuery, "the parameter '\(name)' is given twice")
            }
            parameters[name] = parts.count > 1 ? try percentDecoded(parts[1], what: name) : ""
        }
        let whereText = parameters["where"]?.trimmingSpaces ?? ""
        return PaymentQuery(
            fields: try parseFields(parameters["fields"] ?? "", limit: limits.maxFields),
            filter: whereText.isEmpty ? nil : try WhereParser.parse(whereText, limits: limits),
            orderBy: try parseOrderBy(parameters["orderby"] ?? "", limit: limits.maxOrderTerms)
        )
    }

    /// `PaymentId, Amount, ...`; empty means the 13 Get response fields.
    public static func parseFields(_ text: String, limit: Int = QueryLimits().maxFields) throws(DomainError) -> [PaymentField] {
        guard !text.trimmingSpaces.isEmpty else { return PaymentField.getDefaults }
        var fields: [PaymentField] = []
        var position = 1
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard fields.count < limit else {
                throw DomainError(.invalidQuery, "fields: more than \(limit) fields at position \(position)")
            }
            let name = String(item).trimmingSpaces
            guard let field = PaymentField(name: name) else {
                throw DomainError(.invalidQuery, "fields: unknown field '\(name.quotedPrefix)' at position \(position)")
            }
            fields.append(field)
            position += item.unicodeScalars.count + 1
        }
        return fields
    }

    /// `Field [ASC|DESC], ...`; empty means PaymentId ascending.
    public static func parseOrderBy(_ text: String, limit: Int = QueryLimits().maxOrderTerms) throws(DomainError) -> [OrderTerm] {
        guard !text.trimmingSpaces.isEmpty else { return [] }
        var terms: [OrderTerm] = []
        var position = 1
        for item in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard terms.count < limit else {
                throw DomainError(.invalidQuery, "orderby: more than \(limit) terms at position \(position)")
            }
            let words = item.split(separator: " ")
            guard let first = words.first, let field = PaymentField(name: first), words.count <= 2 else {
                throw DomainError(.invalidQuery, "orderby: expected 'Field [ASC|DESC]' at position \(position), found '\(item.trimmingSpaces.quotedPrefix)'")
            }
            let direction = words.count == 2 ? words[1].uppercased() : "ASC"
            guard direction == "ASC" || direction == "DESC" else {
                throw DomainError(.invalidQuery, "orderby: expected ASC or DESC after \(field.rawValue) at position \(position), found '\(words[1].quotedPrefix)'")
            }
            terms.append(OrderTerm(field: field, descending: direction == "DESC"))
            position += item.unicodeScalars.count + 1
        }
        return terms
    }

    private static func percentDecoded(_ text: Substring, what: String) throws(DomainError) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            switch byte {
            case UInt8(ascii: "+"): bytes.append(UInt8(ascii: " "))
            case UInt8(ascii: "%"):
                guard utf8.count >= 2, let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) else {
                    throw DomainError(.invalidQuery, "\(what): '%' must be followed by two hex digits")
                }
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            default: bytes.append(byte)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else {
            throw DomainError(.invalidQuery, "\(what): percent-decoding does not give UTF-8 text")
        }
        return decoded
    }
}

extension StringProtocol {
    /// At most the first 64 characters, marked when cut: an error message never echoes a
    /// megabyte of input back.
    var quotedPrefix: String {
        count <= 64 ? String(self) : String(prefix(64)) + "..."
    }

    /// Without leading and trailing spaces and tabs. Scans the UTF-8 bytes: it runs on every
    /// CSV header column, and a character-wise reversed copy cost more than the whole parse.
    public var trimmingSpaces: String {
        let text = String(self)
        let bytes = text.utf8
        let isSpace = { (byte: UInt8) in byte == 0x20 || byte == 0x09 }
        guard let first = bytes.firstIndex(where: { !isSpace($0) }),
              let last = bytes.lastIndex(where: { !isSpace($0) }) else { return "" }
        if first == bytes.startIndex, last == bytes.index(before: bytes.endIndex) { return text }
        return String(decoding: bytes[first...last], as: UTF8.self)
    }
}
