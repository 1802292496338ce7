import PaymentsDomain
import PropertyBased
import Testing

@Suite("Where, fields and orderby")
struct WhereLanguageTests {
    @Test("the seed's where clause")
    func seed() throws {
        let query = try PaymentQuery.parse(urlQuery: "where=OrderRef%3D'Ref123'")
        #expect(query.filter == .predicate(WherePredicate(field: .orderRef, test: .compare(.equal, .text("Ref123")))))
        #expect(query.fields == PaymentField.getDefaults)
        #expect(query.orderBy == [PaymentQuery.OrderTerm(field: .paymentId)])
    }

    @Test("the whole grammar, with case-insensitive names and keywords")
    func grammar() throws {
        let text = "paymentid >= 1001 and (amount between 10 and '99.5' or NOT method like 'Cash%') " +
            "AND orderref NOT IN ('a', 'it''s') and Comments is not null AND Date < '2013-09-17' AND Active != 0"
        let tree = try WhereParser.parse(text)
        #expect(tree.description == "(((((PaymentId >= 1001 AND (Amount BETWEEN 10.00 AND 99.50 OR NOT (Method LIKE 'Cash%'))) " +
            "AND OrderRef NOT IN ('a', 'it''s')) AND Comments IS NOT NULL) AND Date < '2013-09-17 00:00:00') AND Active <> 0)")
    }

    @Test("AND binds tighter than OR, NOT tighter than both")
    func precedence() throws {
        let tree = try WhereParser.parse("Active = 1 OR NOT Active = 0 AND Direction = -1")
        #expect(tree.description == "(Active = 1 OR (NOT (Active = 0) AND Direction = -1))")
    }

    @Test("faults say what and where", arguments: [
        ("Amount = 'abc'", "where: Amount takes a decimal amount; 'abc' at position 10 is not one"),
        ("Colour = 'red'", "where: unknown field 'Colour' at position 1"),
        ("OrderRef = 'open", "where: the string starting at position 12 is never closed"),
        ("(Active = 1", "where: expected ')' to close the '(' at position 1 at position 12, found the end of the clause"),
        ("Active = 1)", "where: unexpected ')' at position 11"),
        ("Amount LIKE '1%'", "where: LIKE needs a text or date field; Amount at position 1 is not one"),
        ("' OR 1=1 --", "where: the string starting at position 1 is never closed"),
        ("1=1; DROP TABLE x", "where: unexpected character ';' at position 4"),
        ("1=1", "where: expected a field name at position 1, found the number 1"),
        ("OrderRef = '' OR 1=1", "where: expected a field name at position 18, found the number 1"),
        ("OrderRef = 'x'; DROP TABLE payments", "where: unexpected character ';' at position 15"),
        ("PaymentId = 1.5", "where: PaymentId takes a whole number; '1.5' at position 13 is not one"),
        ("Date > 'yesterday'", "where: Date takes a date such as '2013-09-16 01:00:00'; 'yesterday' at position 8 is not one"),
        ("", "where: expected a field name or '(' at position 1, found the end of the clause"),
    ])
    func faults(text: String, message: String) {
        let error = #expect(throws: DomainError.self) { try WhereParser.parse(text) }
        #expect(error?.code == .invalidQuery)
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "")")
    }

    @Test("10 000 nested brackets are refused at the depth limit, without a crash")
    func deepNesting() {
        let text = String(repeating: "(", count: 10_000) + "Active = 1" + String(repeating: ")", count: 10_000)
        let error = #expect(throws: DomainError.self) {
            try WhereParser.parse(text, limits: QueryLimits(maxWhereLength: 100_000))
        }
        #expect(error?.code == .tooLarge)
        #expect(error?.message == "where: nesting deeper than 32 levels at position 33")
        let nots = String(repeating: "NOT ", count: 5_000) + "Active = 1"
        #expect((try? WhereParser.parse(nots, limits: QueryLimits(maxWhereLength: 100_000))) == nil)
    }

    @Test("a clause over the length limit is TOO_LARGE")
    func length() {
        let error = #expect(throws: DomainError.self) { try WhereParser.parse(String(repeating: " ", count: 5_000) + "Active = 1") }
        #expect(error?.code == .tooLarge)
    }

    @Test("fields and orderby", arguments: [
        ("fields=PaymentId,amount&orderby=Amount DESC, date", [PaymentField.paymentId, .amount], ["Amount DESC", "Date ASC", "PaymentId ASC"]),
        ("orderby=paymentid+desc", PaymentField.getDefaults, ["PaymentId DESC"]),
    ])
    func fieldsAndOrder(query: String, fields: [PaymentField], order: [String]) throws {
        let parsed = try PaymentQuery.parse(urlQuery: query)
        #expect(parsed.fields == fields)
        #expect(parsed.orderBy.map { "\($0.field.rawValue) \($0.descending ? "DESC" : "ASC")" } == order)
    }

    @Test("bad parameters", arguments: [
        ("fields=PaymentId,Colour", "fields: unknown field 'Colour' at position 11"),
        ("orderby=Amount SIDEWAYS", "orderby: expected ASC or DESC after Amount at position 1, found 'SIDEWAYS'"),
        ("limit=5", "unknown parameter 'limit'; the parameters are fields, where and orderby"),
        ("where=%ZZ", "where: '%' must be followed by two hex digits"),
        ("where=a&where=b", "the parameter 'where' is given twice"),
    ])
    func badParameters(query: String, message: String) {
        let error = #expect(throws: DomainError.self) { try PaymentQuery.parse(urlQuery: query) }
        #expect(error?.message == message)
    }

    @Test("any tree prints as text that parses back to the same tree")
    func printAndReparse() async {
        let values: [(PaymentField, String)] = [
            (.paymentId, "1001"), (.amount, "12.5"), (.orderRef, "'Ref''1'"), (.date, "'2013-09-16'"),
            (.active, "1"), (.lifeCycleState, "'posted'"), (.method, "'Direct Credit'"), (.direction, "-1"),
        ]
        let ops = ["=", "<>", "<", "<=", ">", ">=", "!="]
        let predicate = Gen.int(in: 0...(values.count - 1)).map { index -> String in
            let (field, value) = values[index]
            return [
                "\(field.rawValue) \(ops[index % ops.count]) \(value)",
                "\(field.rawValue) IS \(index.isMultiple(of: 2) ? "" : "NOT ")NULL",
                "\(field.rawValue) \(index.isMultiple(of: 2) ? "" : "NOT ")IN (\(value), \(value))",
                "\(field.rawValue) BETWEEN \(value) AND \(value)",
            ][index % 4]
        }
        let joiners = [" AND ", " OR ", " AND NOT ", " OR ("]
        let clause = predicate.array(of: 1...6).map { parts -> String in
            var text = parts[0]
            var open = 0
            for (index, part) in parts.dropFirst().enumerated() {
                let joiner = joiners[index % joiners.count]
                if joiner.hasSuffix("(") { open += 1 }
                text += joiner + part
            }
            return text + String(repeating: ")", count: open)
        }
        await propertyCheck(count: 300, input: clause) { text in
            let tree = try? WhereParser.parse(text)
            #expect(tree != nil, "\(text)")
            guard let tree else { return }
            let reparsed = try? WhereParser.parse(tree.description)
            #expect(reparsed == tree, "\(text) printed as \(tree.description)")
            #expect(reparsed?.description == tree.description)
        }
    }

    @Test("fields and orderby past their term limits are INVALID_QUERY before any SQL, and no long input is echoed")
    func termLimits() {
        #expect(throws: DomainError(.invalidQuery, "orderby: more than 32 terms at position 321")) {
            try PaymentQuery.parse(urlQuery: "orderby=" + Array(repeating: "PaymentId", count: 10_000).joined(separator: ","))
        }
        #expect(throws: DomainError(.invalidQuery, "fields: more than 64 fields at position 641")) {
            try PaymentQuery.parse(urlQuery: "fields=" + Array(repeating: "PaymentId", count: 100).joined(separator: ","))
        }
        #expect(throws: DomainError(.invalidQuery, "orderby: expected 'Field [ASC|DESC]' at position 1, found '\(String(repeating: "x", count: 64))...'")) {
            try PaymentQuery.parse(urlQuery: "orderby=" + String(repeating: "x", count: 1 << 20))
        }
    }
}
