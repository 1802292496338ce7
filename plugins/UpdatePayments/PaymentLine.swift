import PaymentsDomain

/// What one UpdatePayments line gives: every column is optional, and an empty cell means
/// "not given".
public struct PaymentChanges: Sendable, Hashable {
    public var paymentId: Int64?
    public var importedRef: String?
    public var orderId: Int64?
    public var orderRef: String?
    public var createdDate: UTCDateTime?
    public var active: Bool?
    public var method: String?
    public var direction: Direction?
    public var amount: Amount?
    public var date: UTCDateTime?
    public var transactionAuthorized: Bool?
    public var transactionRef: String?
    public var comments: String?
    public var backOfficeCode: String?

    public init() {}
}

/// One decoded line: its id for the reply, its values, or why it cannot be applied.
public struct PaymentLine: Sendable, Hashable {
    public var lineId: String
    public var changes: PaymentChanges
    /// Set when the line is refused before it reaches the store.
    public var error: String?
    /// The identifying cells as written, kept for a line refused before decoding so that its
    /// reply can echo them.
    public var given: [PaymentField: String]

    public init(lineId: String, changes: PaymentChanges, error: String? = nil, given: [PaymentField: String] = [:]) {
        self.lineId = lineId
        self.changes = changes
        self.error = error
        self.given = given
    }
}

/// The reply row of one UpdatePayments line.
public struct PaymentLineResult: Sendable, Hashable {
    public var lineId: String
    public var paymentId: Int64?
    public var importedRef: String?
    public var orderId: Int64?
    public var orderRef: String?
    /// Empty when the line was applied; `Failed` when the payment to update was not found
    /// (as Cin7 answers); otherwise what was wrong.
    public var errors: String

    public init(lineId: String, paymentId: Int64? = nil, importedRef: String? = nil, orderId: Int64? = nil,
                orderRef: String? = nil, errors: String = "") {
        self.lineId = lineId
        self.paymentId = paymentId
        self.importedRef = importedRef
        self.orderId = orderId
        self.orderRef = orderRef
        self.errors = errors
    }

    public static let header = ["LineId", "PaymentId", "PaymentImportedRef", "OrderId", "OrderRef", "Errors"]
    /// The header row as CSV, written once: most replies are a row long.
    private static let headerRecord = CSVWriter(header: header).bytes

    public var csvFields: [String?] {
        [lineId, paymentId.map(String.init), importedRef, orderId.map(String.init), orderRef, errors]
    }

    /// The reply CSV of these results, header first: the same bytes as writing `csvFields`
    /// a row, without an array and two number strings a row.
    public static func csv(_ results: [PaymentLineResult]) -> [UInt8] {
        var writer = CSVWriter(bytes: headerRecord)
        for result in results {
            writer.write(result.lineId, first: true)
            writer.write(result.paymentId)
            writer.write(result.importedRef)
            writer.write(result.orderId)
            writer.write(result.orderRef)
            writer.write(result.errors)
            writer.endRecord()
        }
        return writer.bytes
    }
}

/// Decodes an UpdatePayments CSV into lines. Column faults (unknown, read-only, repeated
/// columns) refuse the whole command as `MALFORMED`; a bad cell refuses only its line.
public enum PaymentLineDecoder {
    /// Columns an UpdatePayments CSV may have, beyond the payment fields themselves.
    static let lineIdColumn = "lineid"
    static let writable: Set<PaymentField> = Set(PaymentField.allCases).subtracting([.number, .lifeCycleState])

    public static func decode(_ document: CSVDocument) throws(DomainError) -> [PaymentLine] {
        var columns: [PaymentField?] = []
        var lineIdColumn: Int?
        for (index, name) in document.header.enumerated() {
            let trimmed = name.trimmingSpaces
            if trimmed.lowercased() == Self.lineIdColumn {
                guard lineIdColumn == nil else { throw DomainError(.malformed, "column LineId appears twice") }
                lineIdColumn = index
                columns.append(nil)
                continue
            }
            guard let field = PaymentField(name: trimmed) else {
                throw DomainError(.malformed, "unknown column '\(trimmed)' (column \(index + 1)); the columns are LineId, \(PaymentField.allCases.filter(writable.contains).map(\.rawValue).joined(separator: ", "))")
            }
            guard writable.contains(field) else {
                throw DomainError(.malformed, "column \(field.rawValue) (column \(index + 1)) is read-only")
            }
            guard !columns.contains(field) else {
                throw DomainError(.malformed, "column \(field.rawValue) appears twice")
            }
            columns.append(field)
        }
        return document.records.enumerated().map { recordIndex, record in
            decodeLine(record, index: recordIndex + 1, columns: columns, lineIdColumn: lineIdColumn)
        }
    }

    private static func decodeLine(_ record: CSVRecord, index: Int, columns: [PaymentField?], lineIdColumn: Int?) -> PaymentLine {
        var lineId = String(index)
        if let lineIdColumn, lineIdColumn < record.fields.count, !record.fields[lineIdColumn].isEmpty {
            lineId = record.fields[lineIdColumn]
        }
        var line = PaymentLine(lineId: lineId, changes: PaymentChanges())
        func refuse(_ error: String) -> PaymentLine {
            for (column, field) in columns.enumerated() {
                guard let field, column < record.fields.count, !record.fields[column].isEmpty,
                      [.paymentId, .paymentImportedRef, .orderId, .orderRef].contains(field) else { continue }
                line.given[field] = record.fields[column]
            }
            line.error = error
            return line
        }
        guard record.fields.count == columns.count else {
            return refuse("line \(record.line): \(record.fields.count) values for \(columns.count) columns")
        }
        if let problem = record.problem {
            return refuse("line \(record.line): \(problem)")
        }
        var problems: [String] = []
        for (column, field) in columns.enumerated() {
            guard let field else { continue }
            let cell = record.fields[column]
            guard !cell.isEmpty else { continue }
            do {
                try apply(cell, to: field, of: &line.changes)
            } catch {
                problems.append("\(field.rawValue) (column \(column + 1)): \(error.message)")
            }
        }
        if lineId.utf8.count > PaymentField.maxTextLength { problems.append("LineId is longer than \(PaymentField.maxTextLength) bytes") }
        if !problems.isEmpty { return refuse("line \(record.line): " + problems.joined(separator: "; ")) }
        return line
    }

    private static func apply(_ cell: String, to field: PaymentField, of changes: inout PaymentChanges) throws(DomainError) {
        func text() throws(DomainError) -> String {
            guard cell.utf8.count <= PaymentField.maxTextLength || field == .comments else {
                throw DomainError(.validation, "longer than \(PaymentField.maxTextLength) bytes")
            }
            // PostgreSQL cannot store it, and no client means it: refused the same in every store.
            guard !cell.utf8.contains(0) else { throw DomainError(.validation, "contains a NUL character") }
            return cell
        }
        func identifier() throws(DomainError) -> Int64 {
            guard let value = Int64(cell), value > 0 else { throw DomainError(.validation, "'\(cell)' is not an id") }
            return value
        }
        switch field {
        case .paymentId: changes.paymentId = try identifier()
        case .paymentImportedRef: changes.importedRef = try text()
        case .orderId: changes.orderId = try identifier()
        case .orderRef: changes.orderRef = try text()
        case .createdDate: changes.createdDate = try UTCDateTime(parsing: cell)
        case .active: changes.active = try ZeroOneFlag.parse(cell, field: "Active")
        case .method: changes.method = try text()
        case .direction: changes.direction = try Direction(parsing: cell)
        case .amount: changes.amount = try Amount(parsing: cell)
        case .date: changes.date = try UTCDateTime(parsing: cell)
        case .transactionAuthorized: changes.transactionAuthorized = try ZeroOneFlag.parse(cell, field: "TransactionAuthorized")
        case .transactionRef: changes.transactionRef = try text()
        case .comments: changes.comments = try text()
        case .backOfficeCode: changes.backOfficeCode = try text()
        case .number, .lifeCycleState: throw DomainError(.validation, "read-only")
        }
    }
}
