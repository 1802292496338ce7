import PaymentsDomain
import Testing
import UpdatePaymentsPlugin

@Suite("UpdatePayments decoding and planning")
struct PlannerTests {
    private let now = try! UTCDateTime(parsing: "2026-11-22 10:00:00")
    private let order = Order(id: 12345, ref: "Ref123")

    private func lines(_ csv: String) throws -> [PaymentLine] {
        try PaymentLineDecoder.decode(try CSVReader.read(csv))
    }

    @Test("the seed's insert becomes one POSTED payment on Ref123")
    func seedInsert() throws {
        let input = try lines("""
            OrderRef,PaymentImportedRef,Active,Method,Direction,Amount,Date,TransactionAuthorized,TransactionRef
            Ref123,Ref456,1,Direct Credit,1,123.50,2013-09-16 1:00:00,1,ABC123456789
            """)
        let plan = PaymentUpsertPlanner.plan(input, lookup: PaymentLookup(orders: [order]), now: now, nextNumber: 7)
        guard case .insert(let payment) = try #require(plan.writes.first) else {
            Issue.record("expected an insert")
            return
        }
        #expect(payment.number == 7)
        #expect(payment.importedRef == "Ref456")
        #expect(payment.orderId == 12345)
        #expect(payment.amount.description == "123.50")
        #expect(payment.date?.cin7 == "2013-09-16 01:00:00")
        #expect(payment.createdDate == now)
        #expect(payment.lifeCycleState == .posted)
        #expect(plan.numbersUsed == 1)
        #expect(plan.results(insertedIds: [0: 1001]) == [
            PaymentLineResult(lineId: "1", paymentId: 1001, importedRef: "Ref456", orderId: 12345, orderRef: "Ref123")])
    }

    @Test("lines in one batch that name the same new ref make one payment")
    func sameRefTwice() throws {
        let input = try lines("LineId,OrderRef,PaymentImportedRef,Amount\nA,Ref123,R1,10\nB,,R1,20\n")
        let plan = PaymentUpsertPlanner.plan(input, lookup: PaymentLookup(orders: [order]), now: now, nextNumber: 1)
        #expect(plan.writes.count == 1)
        guard case .insert(let payment) = plan.writes[0] else { return }
        #expect(payment.amount.description == "20.00")
        #expect(plan.results(insertedIds: [0: 5]).map(\.paymentId) == [5, 5])
    }

    @Test("unknown PaymentId is Failed; missing order or amount is said; bad cells name the column")
    func lineErrors() throws {
        let input = try lines("""
            PaymentId,OrderRef,PaymentImportedRef,Amount,Direction
            999,,,,
            ,Nope,R2,5,
            ,Ref123,R3,,
            ,Ref123,R4,12.34567,2
            """)
        let results = PaymentUpsertPlanner.plan(input, lookup: PaymentLookup(orders: [order]), now: now, nextNumber: 1)
            .results(insertedIds: [:])
        #expect(results.map(\.errors) == [
            "Failed",
            "order 'Nope' not found",
            "Amount is needed to insert a payment",
            "line 5: Amount (column 4): amount '12.34567' has more than 4 decimal places; Direction (column 5): Direction '2' must be 1 (receive) or -1 (pay/refund)",
        ])
        #expect(results[0].paymentId == 999, "a refused line echoes what it gave")
    }

    @Test("every writable column validates its cell", arguments: [
        ("PaymentId", "abc", "PaymentId (column 1): 'abc' is not an id"),
        ("PaymentId", "-5", "PaymentId (column 1): '-5' is not an id"),
        ("OrderId", "1.5", "OrderId (column 1): '1.5' is not an id"),
        ("CreatedDate", "2013-02-30", "CreatedDate (column 1): date '2013-02-30' does not exist"),
        ("Active", "yes", "Active (column 1): Active 'yes' must be 0 or 1"),
        ("Direction", "0", "Direction (column 1): Direction '0' must be 1 (receive) or -1 (pay/refund)"),
        ("Amount", "\"1,5\"", "Amount (column 1): amount '1,5' is not a decimal number such as 123.50"),
        ("Date", "tomorrow", "Date (column 1): date 'tomorrow' is not yyyy-MM-dd, yyyy-MM-dd HH:mm:ss or yyyy-MM-ddTHH:mm:ss"),
        ("TransactionAuthorized", "2", "TransactionAuthorized (column 1): TransactionAuthorized '2' must be 0 or 1"),
        ("PaymentImportedRef", String(repeating: "r", count: 256), "PaymentImportedRef (column 1): longer than 255 bytes"),
        ("OrderRef", String(repeating: "o", count: 256), "OrderRef (column 1): longer than 255 bytes"),
        ("Method", String(repeating: "m", count: 256), "Method (column 1): longer than 255 bytes"),
        ("TransactionRef", String(repeating: "t", count: 256), "TransactionRef (column 1): longer than 255 bytes"),
        ("BackOfficeCode", String(repeating: "b", count: 256), "BackOfficeCode (column 1): longer than 255 bytes"),
    ])
    func fieldValidation(column: String, cell: String, message: String) throws {
        let input = try lines("\(column)\n\(cell)\n")
        #expect(input[0].error == "line 2: \(message)")
    }

    @Test("a NUL character in a text cell refuses the line in every store")
    func nulCharacter() throws {
        let input = try lines("OrderRef,PaymentImportedRef,Amount,Comments\nRef123,R1,1,\"a\u{0}b\"\nRef123,R2,1,fine\n")
        #expect(input[0].error == "line 2: Comments (column 4): contains a NUL character")
        #expect(input[0].given[.paymentImportedRef] == "R1")
        #expect(input[1].error == nil)
    }

    @Test("unknown and read-only columns refuse the whole command")
    func columns() throws {
        #expect(throws: DomainError.self) { try lines("OrderRef,Colour\nRef123,red\n") }
        let error = #expect(throws: DomainError.self) { try lines("PaymentId,Number\n1,2\n") }
        #expect(error == DomainError(.malformed, "column Number (column 2) is read-only"))
    }

    @Test("a BackOfficeCode another payment holds is refused")
    func uniqueBackOfficeCode() throws {
        let input = try lines("OrderRef,PaymentImportedRef,Amount,BackOfficeCode\nRef123,R1,1,BOC\nRef123,R2,1,BOC\n")
        let results = PaymentUpsertPlanner.plan(input, lookup: PaymentLookup(orders: [order]), now: now, nextNumber: 1)
            .results(insertedIds: [0: 1])
        #expect(results[0].errors == "")
        #expect(results[1].errors == "BackOfficeCode 'BOC' belongs to another payment (1)")
    }
}
