import PaymentsDomain

/// What differs between the two stores' SQL.
public enum SQLDialect: Sendable {
    case sqlite
    case postgres

    func placeholder(_ number: Int) -> String {
        self == .sqlite ? "?" : "$\(number)"
    }
}

/// A value bound to a statement parameter.
public enum SQLValue: Sendable, Hashable {
    case integer(Int64)
    case text(String)
    case null

    init(_ value: QueryValue) {
        switch value {
        case .integer(let number): self = .integer(number)
        case .amount(let amount): self = .integer(amount.scaled)
        case .text(let text): self = .text(text)
        case .date(let date): self = .text(date.cin7)
        }
    }
}

/// SQL with its parameters in order; values are always bound, never spliced.
struct BoundSQL {
    var sql = ""
    var values: [SQLValue] = []
    let dialect: SQLDialect

    mutating func bind(_ value: SQLValue) -> String {
        values.append(value)
        return dialect.placeholder(values.count)
    }
}

/// The payments tables' shape, shared by both stores.
enum PaymentSQL {
    /// The columns a `Payment` is read from, in `Payment`'s order; `p` is payments, `o` orders.
    static let selectColumns = """
        p.id, p.number, p.imported_ref, p.order_id, o.order_ref, p.created_date, p.active, p.method, \
        p.direction, p.amount, p.payment_date, p.transaction_authorized, p.transaction_ref, p.comments, \
        p.back_office_code, p.life_cycle_state
        """

    static let fromPayments = "FROM payments p JOIN orders o ON o.id = p.order_id"

    /// A payment from a row of `selectColumns`, read through the store's own column readers.
    /// Rows are the store's own writing: a value that does not parse is corruption.
    static func payment(integer: (Int) throws -> Int64, text: (Int) throws -> String?) throws -> Payment {
        func date(_ column: Int) throws -> UTCDateTime? {
            guard let value = try text(column) else { return nil }
            do { return try UTCDateTime(parsing: value) } catch { throw StoreError("stored date '\(value)' is corrupt", kind: .permanent) }
        }
        let id = try integer(0)
        guard let orderRef = try text(4), let created = try date(5), let direction = Direction(rawValue: Int(try integer(8))),
              let state = try text(15).flatMap(LifeCycleState.init(rawValue:)) else {
            throw StoreError("stored payment \(id) is corrupt", kind: .permanent)
        }
        return Payment(
            id: id, number: try integer(1), importedRef: try text(2), orderId: try integer(3), orderRef: orderRef,
            createdDate: created, active: try integer(6) != 0, method: try text(7), direction: direction,
            amount: Amount(scaled: try integer(9)), date: try date(10), transactionAuthorized: try integer(11) != 0,
            transactionRef: try text(12), comments: try text(13), backOfficeCode: try text(14), lifeCycleState: state)
    }

    static func column(_ field: PaymentField) -> String {
        switch field {
        case .paymentId: "p.id"
        case .paymentImportedRef: "p.imported_ref"
        case .orderId: "p.order_id"
        case .orderRef: "o.order_ref"
        case .createdDate: "p.created_date"
        case .active: "p.active"
        case .method: "p.method"
        case .direction: "p.direction"
        case .amount: "p.amount"
        case .date: "p.payment_date"
        case .transactionAuthorized: "p.transaction_authorized"
        case .transactionRef: "p.transaction_ref"
        case .comments: "p.comments"
        case .backOfficeCode: "p.back_office_code"
        case .number: "p.number"
        case .lifeCycleState: "p.life_cycle_state"
        }
    }

    /// `SELECT ... WHERE p.account_id = ? AND (filter) ORDER BY ...`.
    static func select(account: String, query: PaymentQuery, dialect: SQLDialect) -> BoundSQL {
        var bound = BoundSQL(dialect: dialect)
        bound.sql = "SELECT \(selectColumns) \(fromPayments) WHERE p.account_id = \(bound.bind(.text(account)))"
        if let filter = query.filter {
            bound.sql += " AND ("
            render(filter, into: &bound)
            bound.sql += ")"
        }
        bound.sql += " ORDER BY " + query.orderBy.map { term in
            // Both stores sort NULLs as SQLite does by default.
            "\(column(term.field)) \(term.descending ? "DESC NULLS LAST" : "ASC NULLS FIRST")"
        }.joined(separator: ", ")
        return bound
    }

    static func render(_ expression: WhereExpression, into bound: inout BoundSQL) {
        switch expression {
        case .and(let left, let right), .or(let left, let right):
            bound.sql += "("
            render(left, into: &bound)
            if case .and = expression { bound.sql += " AND " } else { bound.sql += " OR " }
            render(right, into: &bound)
            bound.sql += ")"
        case .not(let inner):
            bound.sql += "NOT ("
            render(inner, into: &bound)
            bound.sql += ")"
        case .predicate(let predicate):
            render(predicate, into: &bound)
        }
    }

    private static func render(_ predicate: WherePredicate, into bound: inout BoundSQL) {
        let column = column(predicate.field)
        switch predicate.test {
        case .compare(let op, let value):
            bound.sql += "\(column) \(op.rawValue) \(bound.bind(SQLValue(value)))"
        case .like(let pattern, let negated):
            // Case-insensitive in both stores, with no escape character in either.
            let operation = bound.dialect == .sqlite ? "LIKE" : "ILIKE"
            let escape = bound.dialect == .sqlite ? "" : " ESCAPE ''"
            bound.sql += "\(column) \(negated ? "NOT " : "")\(operation) \(bound.bind(.text(pattern)))\(escape)"
        case .inList(let values, let negated):
            let placeholders = values.map { bound.bind(SQLValue($0)) }.joined(separator: ", ")
            bound.sql += "\(column) \(negated ? "NOT IN" : "IN") (\(placeholders))"
        case .isNull(let negated):
            bound.sql += "\(column) IS \(negated ? "NOT NULL" : "NULL")"
        case .between(let low, let high, let negated):
            bound.sql += "\(column) \(negated ? "NOT BETWEEN" : "BETWEEN") \(bound.bind(SQLValue(low))) AND \(bound.bind(SQLValue(high)))"
        }
    }
}
