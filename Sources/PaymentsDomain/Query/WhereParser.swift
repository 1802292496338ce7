/// Limits on the query language; past them a command is `TOO_LARGE`.
public struct QueryLimits: Sendable, Hashable {
    public var maxWhereLength: Int
    public var maxDepth: Int
    public var maxListItems: Int
    /// `fields` and `orderby` name at most this many terms: a field more than once in
    /// `orderby` means nothing, and SQLite refuses long lists with its own text.
    public var maxFields: Int
    public var maxOrderTerms: Int

    public init(maxWhereLength: Int = 4_096, maxDepth: Int = 32, maxListItems: Int = 1_000, maxFields: Int = 64, maxOrderTerms: Int = 32) {
        self.maxWhereLength = maxWhereLength
        self.maxDepth = maxDepth
        self.maxListItems = maxListItems
        self.maxFields = maxFields
        self.maxOrderTerms = maxOrderTerms
    }
}

/// Parses Cin7's `where`: comparisons `= <> != < <= > >=`, `[NOT] LIKE`, `[NOT] IN (...)`,
/// `IS [NOT] NULL`, `[NOT] BETWEEN ... AND ...`, `AND`, `OR`, `NOT`, parentheses. Field names
/// and keywords are case-insensitive; strings are single-quoted with `''` for a quote.
/// Every fault is `INVALID_QUERY` naming the position.
public struct WhereParser {
    private let tokens: [Token]
    private var index = 0
    private let limits: QueryLimits
    private var depth = 0

    public static func parse(_ text: String, limits: QueryLimits = QueryLimits()) throws(DomainError) -> WhereExpression {
        let length = text.unicodeScalars.count
        guard length <= limits.maxWhereLength else {
            throw DomainError(.tooLarge, "the where clause is \(length) characters long; the limit is \(limits.maxWhereLength)")
        }
        var parser = WhereParser(tokens: try Lexer.tokens(of: text), limits: limits)
        let expression = try parser.parseOr()
        if let extra = parser.peek {
            throw DomainError(.invalidQuery, "where: unexpected \(extra.kind.label) at position \(extra.position)")
        }
        return expression
    }

    private init(tokens: [Token], limits: QueryLimits) {
        self.tokens = tokens
        self.limits = limits
    }

    private var peek: Token? { index < tokens.count ? tokens[index] : nil }

    private var endPosition: Int { (tokens.last.map { $0.position + $0.length }) ?? 1 }

    private mutating func advance() -> Token? {
        defer { index += 1 }
        return peek
    }

    private mutating func accept(keyword: String) -> Bool {
        guard case .word(let word)? = peek?.kind, word.uppercased() == keyword else { return false }
        index += 1
        return true
    }

    private func fault(_ expected: String) -> DomainError {
        if let token = peek {
            return DomainError(.invalidQuery, "where: expected \(expected) at position \(token.position), found \(token.kind.label)")
        }
        return DomainError(.invalidQuery, "where: expected \(expected) at position \(endPosition), found the end of the clause")
    }

    private mutating func nest(at position: Int) throws(DomainError) {
        depth += 1
        guard depth <= limits.maxDepth else {
            throw DomainError(.tooLarge, "where: nesting deeper than \(limits.maxDepth) levels at position \(position)")
        }
    }

    private mutating func parseOr() throws(DomainError) -> WhereExpression {
        var expression = try parseAnd()
        while accept(keyword: "OR") { expression = .or(expression, try parseAnd()) }
        return expression
    }

    private mutating func parseAnd() throws(DomainError) -> WhereExpression {
        var expression = try parseNot()
        while accept(keyword: "AND") { expression = .and(expression, try parseNot()) }
        return expression
    }

    private mutating func parseNot() throws(DomainError) -> WhereExpression {
        let position = peek?.position ?? endPosition
        if accept(keyword: "NOT") {
            try nest(at: position)
            defer { depth -= 1 }
            return .not(try parseNot())
        }
        return try parsePrimary()
    }

    private mutating func parsePrimary() throws(DomainError) -> WhereExpression {
        guard let token = peek else { throw fault("a field name or '('") }
        if token.kind == .symbol("(") {
            index += 1
            try nest(at: token.position)
            defer { depth -= 1 }
            let inner = try parseOr()
            guard peek?.kind == .symbol(")") else { throw fault("')' to close the '(' at position \(token.position)") }
            index += 1
            return inner
        }
        return .predicate(try parsePredicate())
    }

    private mutating func parsePredicate() throws(DomainError) -> WherePredicate {
        guard let token = advance(), case .word(let name) = token.kind else {
            index -= 1
            throw fault("a field name")
        }
        guard let field = PaymentField(name: name) else {
            throw DomainError(.invalidQuery, "where: unknown field '\(name)' at position \(token.position); fields are \(PaymentField.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        func predicate(_ test: WherePredicate.Test) -> WherePredicate {
            WherePredicate(field: field, test: test, position: token.position)
        }
        if case .symbol(let symbol)? = peek?.kind, let op = Self.comparison(symbol) {
            index += 1
            return predicate(.compare(op, try parseValue(for: field)))
        }
        if accept(keyword: "IS") {
            let negated = accept(keyword: "NOT")
            guard accept(keyword: "NULL") else { throw fault("NULL") }
            return predicate(.isNull(negated: negated))
        }
        let negated = accept(keyword: "NOT")
        if accept(keyword: "LIKE") {
            guard [.text, .date, .state].contains(field.kind) else {
                throw DomainError(.invalidQuery, "where: LIKE needs a text or date field; \(field.rawValue) at position \(token.position) is not one")
            }
            guard let patternToken = advance(), case .string(let pattern) = patternToken.kind else {
                index -= 1
                throw fault("a quoted LIKE pattern")
            }
            return predicate(.like(pattern: pattern, negated: negated))
        }
        if accept(keyword: "IN") {
            guard peek?.kind == .symbol("(") else { throw fault("'(' to start the IN list") }
            index += 1
            var values = [try parseValue(for: field)]
            while peek?.kind == .symbol(",") {
                index += 1
                values.append(try parseValue(for: field))
                guard values.count <= limits.maxListItems else {
                    throw DomainError(.tooLarge, "where: the IN list at position \(token.position) has more than \(limits.maxListItems) values")
                }
            }
            guard peek?.kind == .symbol(")") else { throw fault("',' or ')' in the IN list") }
            index += 1
            return predicate(.inList(values, negated: negated))
        }
        if accept(keyword: "BETWEEN") {
            let low = try parseValue(for: field)
            guard accept(keyword: "AND") else { throw fault("AND in BETWEEN") }
            return predicate(.between(low, try parseValue(for: field), negated: negated))
        }
        throw fault(negated ? "LIKE, IN or BETWEEN after NOT" : "a comparison, LIKE, IN, IS or BETWEEN after \(field.rawValue)")
    }

    private static func comparison(_ symbol: String) -> ComparisonOperator? {
        symbol == "!=" ? .notEqual : ComparisonOperator(rawValue: symbol)
    }

    /// Reads a literal and converts it to the field's type.
    private mutating func parseValue(for field: PaymentField) throws(DomainError) -> QueryValue {
        guard let token = advance() else {
            index -= 1
            throw fault("a value for \(field.rawValue)")
        }
        let literal: String
        switch token.kind {
        case .string(let text), .number(let text): literal = text
        default:
            index -= 1
            throw fault("a value for \(field.rawValue)")
        }
        func mismatch(_ expected: String) -> DomainError {
            DomainError(.invalidQuery, "where: \(field.rawValue) takes \(expected); '\(literal)' at position \(token.position) is not one")
        }
        switch field.kind {
        case .integer:
            guard let value = Int64(literal) else { throw mismatch("a whole number") }
            return .integer(value)
        case .flag:
            guard literal == "0" || literal == "1" else { throw mismatch("0 or 1") }
            return .integer(literal == "1" ? 1 : 0)
        case .direction:
            guard literal == "1" || literal == "-1" else { throw mismatch("1 or -1") }
            return .integer(literal == "1" ? 1 : -1)
        case .amount:
            guard let amount = try? Amount(parsing: literal) else { throw mismatch("a decimal amount") }
            return .amount(amount)
        case .date:
            guard let date = try? UTCDateTime(parsing: literal) else { throw mismatch("a date such as '2013-09-16 01:00:00'") }
            return .date(date)
        case .state:
            guard LifeCycleState(rawValue: literal.uppercased()) != nil else {
                throw mismatch("one of \(LifeCycleState.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            return .text(literal.uppercased())
        case .text:
            return .text(literal)
        }
    }
}

struct Token: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case word(String)
        case string(String)
        case number(String)
        case symbol(String)

        var label: String {
            switch self {
            case .word(let word): "'\(word)'"
            case .string(let text): "the string \(QueryValue.quoted(text))"
            case .number(let text): "the number \(text)"
            case .symbol(let symbol): "'\(symbol)'"
            }
        }
    }

    let kind: Kind
    let position: Int
    let length: Int
}

enum Lexer {
    static func tokens(of text: String) throws(DomainError) -> [Token] {
        let scalars = Array(text.unicodeScalars)
        var tokens: [Token] = []
        var index = 0
        func isDigit(_ scalar: Unicode.Scalar) -> Bool { ("0"..."9").contains(scalar) }
        func isWordStart(_ scalar: Unicode.Scalar) -> Bool {
            ("a"..."z").contains(scalar) || ("A"..."Z").contains(scalar) || scalar == "_"
        }
        while index < scalars.count {
            let scalar = scalars[index]
            let start = index
            if scalar.properties.isWhitespace {
                index += 1
                continue
            }
            if isWordStart(scalar) {
                while index < scalars.count, isWordStart(scalars[index]) || isDigit(scalars[index]) { index += 1 }
                tokens.append(Token(kind: .word(String(String.UnicodeScalarView(scalars[start..<index]))), position: start + 1, length: index - start))
            } else if isDigit(scalar) || (scalar == "-" && index + 1 < scalars.count && isDigit(scalars[index + 1])) {
                index += 1
                while index < scalars.count, isDigit(scalars[index]) || scalars[index] == "." { index += 1 }
                tokens.append(Token(kind: .number(String(String.UnicodeScalarView(scalars[start..<index]))), position: start + 1, length: index - start))
            } else if scalar == "'" {
                var value = String.UnicodeScalarView()
                index += 1
                var closed = false
                while index < scalars.count {
                    if scalars[index] == "'" {
                        if index + 1 < scalars.count, scalars[index + 1] == "'" {
                            value.append("'")
                            index += 2
                            continue
                        }
                        index += 1
                        closed = true
                        break
                    }
                    value.append(scalars[index])
                    index += 1
                }
                guard closed else {
                    throw DomainError(.invalidQuery, "where: the string starting at position \(start + 1) is never closed")
                }
                tokens.append(Token(kind: .string(String(value)), position: start + 1, length: index - start))
            } else if let symbol = ["<=", ">=", "<>", "!="].first(where: { matches($0, scalars, at: index) }) {
                index += 2
                tokens.append(Token(kind: .symbol(symbol), position: start + 1, length: 2))
            } else if "=<>(),".unicodeScalars.contains(scalar) {
                index += 1
                tokens.append(Token(kind: .symbol(String(scalar)), position: start + 1, length: 1))
            } else {
                throw DomainError(.invalidQuery, "where: unexpected character '\(scalar)' at position \(start + 1)")
            }
        }
        return tokens
    }

    private static func matches(_ symbol: String, _ scalars: [Unicode.Scalar], at index: Int) -> Bool {
        let wanted = Array(symbol.unicodeScalars)
        return index + wanted.count <= scalars.count && Array(scalars[index..<index + wanted.count]) == wanted
    }
}
