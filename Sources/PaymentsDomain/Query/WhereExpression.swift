/// A parsed Cin7 `where` clause. Values are already typed for their field, so stores only
/// bind them; positions (1-based, in characters) point back into the text for errors.
public indirect enum WhereExpression: Sendable, Hashable, CustomStringConvertible {
    case and(WhereExpression, WhereExpression)
    case or(WhereExpression, WhereExpression)
    case not(WhereExpression)
    case predicate(WherePredicate)

    /// Canonical text that parses back to the same tree.
    public var description: String {
        switch self {
        case .and(let left, let right): "(\(left) AND \(right))"
        case .or(let left, let right): "(\(left) OR \(right))"
        case .not(let inner): "NOT (\(inner))"
        case .predicate(let predicate): predicate.description
        }
    }
}

public enum ComparisonOperator: String, Sendable, Hashable, CaseIterable {
    case equal = "="
    case notEqual = "<>"
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
}

/// A literal converted to its field's type.
public enum QueryValue: Sendable, Hashable, CustomStringConvertible {
    case integer(Int64)
    case text(String)
    case amount(Amount)
    case date(UTCDateTime)

    public var description: String {
        switch self {
        case .integer(let value): String(value)
        case .amount(let value): value.description
        case .text(let value): Self.quoted(value)
        case .date(let value): Self.quoted(value.cin7)
        }
    }

    static func quoted(_ text: String) -> String {
        var quoted = "'"
        for character in text {
            if character == "'" { quoted.append("'") }
            quoted.append(character)
        }
        return quoted + "'"
    }
}

public struct WherePredicate: Sendable, Hashable, CustomStringConvertible {
    public enum Test: Sendable, Hashable {
        case compare(ComparisonOperator, QueryValue)
        case like(pattern: String, negated: Bool)
        case inList([QueryValue], negated: Bool)
        case isNull(negated: Bool)
        case between(QueryValue, QueryValue, negated: Bool)
    }

    public var field: PaymentField
    public var test: Test
    /// Where the field name starts. Not part of equality: the same test is the same predicate
    /// wherever it was written.
    public var position: Int

    public init(field: PaymentField, test: Test, position: Int = 0) {
        self.field = field
        self.test = test
        self.position = position
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.field == rhs.field && lhs.test == rhs.test }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(field)
        hasher.combine(test)
    }

    public var description: String {
        let name = field.rawValue
        switch test {
        case .compare(let op, let value): return "\(name) \(op.rawValue) \(value)"
        case .like(let pattern, let negated): return "\(name) \(negated ? "NOT LIKE" : "LIKE") \(QueryValue.quoted(pattern))"
        case .inList(let values, let negated):
            return "\(name) \(negated ? "NOT IN" : "IN") (\(values.map(\.description).joined(separator: ", ")))"
        case .isNull(let negated): return "\(name) IS \(negated ? "NOT NULL" : "NULL")"
        case .between(let low, let high, let negated):
            return "\(name) \(negated ? "NOT BETWEEN" : "BETWEEN") \(low) AND \(high)"
        }
    }
}
