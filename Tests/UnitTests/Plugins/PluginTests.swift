@testable import CancelPaymentPlugin
import DeletePaymentsPlugin
import Foundation
import GetPaymentsPlugin
import PaymentsDomain
import PluginProtocol
import Testing
import UpdateOrdersPlugin
import UpdatePaymentsPlugin

@Suite("Plugins")
struct PluginTests {
    static let account = Account(
        apiId: "123", apiKeyHash: SecretHash.hashing("12345"), tokenHashes: [SecretHash.hashing("B8D7A12E9F91AFADE914B7330AFD08CB")],
        transactionTypes: [FinancialTransactionType(id: "T1", name: "Payment Cancellation", alternativeCode: "PC")],
        categories: [FinancialTransactionCategory(id: "C1", name: "Cancellation Because of Mistake", code: "MISTAKE")])

    static let seedPayment = Payment(
        id: 1001, number: 1, importedRef: "Ref456", orderId: 12345, orderRef: "Ref123",
        createdDate: try! UTCDateTime(parsing: "2013-09-18 21:36:55"), method: "Direct Credit",
        amount: try! Amount(parsing: "123.50"), date: try! UTCDateTime(parsing: "2013-09-16 1:00:00"),
        transactionAuthorized: true, transactionRef: "ABC123456789")

    /// The seed's request as the seed writes it: with a trailing comma, which RFC 8259 (and
    /// so docs/contract.md §3) does not allow.
    static let seedCancelAsWritten = """
        {
        	"token": "B8D7A12E9F91AFADE914B7330AFD08CB",
        	"payment_identifier":{"reference_number":"117"},
        	"type_identifier":{"name":"Payment Cancellation"},
        	"category_identifier":{"name":"Cancellation Because of Mistake"},
        }
        """

    /// The seed's request without its trailing comma.
    static let seedCancel = seedCancelAsWritten.replacingOccurrences(of: "Mistake\"},\n", with: "Mistake\"}\n")

    static let now = try! UTCDateTime(parsing: "2026-11-22 10:00:00")

    private func write(_ work: PluginWork) -> (any PaymentWrite)? {
        guard case .write(let write) = work else { return nil }
        return write
    }

    private func request(_ body: String, headers: [String: String] = ["apiid": "123", "apikey": "12345"]) -> CommandRequest {
        CommandRequest(body: Array(body.utf8), headers: headers)
    }

    @Test("UpdatePayments: the seed's insert reads its order, plans one insert with the account's next number, and its reply is the seed's")
    func updatePayments() throws {
        let plugin = UpdatePaymentsPlugin()
        let csv = "OrderRef,PaymentImportedRef,Active,Method,Direction,Amount,Date,TransactionAuthorized,TransactionRef\nRef123,Ref456,1,Direct Credit,1,123.50,2013-09-16 1:00:00,1,ABC123456789\n"
        let write = try #require(try write(plugin.decode(request(csv), account: Self.account)))
        #expect(write.lineCount == 1)
        let reads = write.reads()
        #expect(reads.orderRefs == ["Ref123"] && reads.paymentImportedRefs == ["Ref456"])
        var data = FetchedData()
        data.orders = [Order(id: 12345, ref: "Ref123")]
        data.counters.nextPaymentNumber = 7
        let plan = try write.plan(with: data, context: WriteContext(now: Self.now))
        guard case .insert(let payment)? = plan.changes.payments.first, plan.changes.payments.count == 1 else {
            Issue.record("not one insert: \(plan.changes.payments)")
            return
        }
        #expect(payment.number == 7 && payment.amount.description == "123.50")
        #expect(plan.changes.nextPaymentNumber == 8)
        var ids = InsertedIds()
        ids.payments = [0: 1001]
        let reply = try #require(plan.replies(ids).first)
        #expect(String(decoding: reply.body, as: UTF8.self) == "LineId,PaymentId,PaymentImportedRef,OrderId,OrderRef,Errors\n1,1001,Ref456,12345,Ref123,\n")
        #expect(reply.status == "ok")
        #expect(reply.contentType == "text/csv")
        let partial = plugin.reply(to: [PaymentLineResult(lineId: "1", errors: "Failed")])
        #expect(partial.status == "partial")
    }

    @Test("UpdatePayments: consecutive commands merge into one write that answers each, unless a line names a PaymentId")
    func updatePaymentsMerge() throws {
        let plugin = UpdatePaymentsPlugin()
        let first = try #require(try write(plugin.decode(request("OrderRef,PaymentImportedRef,Amount\nRef123,A,1\n"), account: Self.account)))
        let second = try #require(try write(plugin.decode(request("OrderRef,PaymentImportedRef,Amount\nRef123,A,2\nRef123,B,3\n"), account: Self.account)))
        let byId = try #require(try write(plugin.decode(request("PaymentId,Amount\n1,1\n"), account: Self.account)))
        var unmerged = first
        var alone = byId
        let mergedById = unmerged.merge(byId)
        let byIdMerged = alone.merge(first)
        #expect(!mergedById && !byIdMerged && unmerged.lineCount == 1)
        var merged = first
        let mergedSecond = merged.merge(second)
        #expect(mergedSecond)
        #expect(merged.lineCount == 3)
        var data = FetchedData()
        data.orders = [Order(id: 12345, ref: "Ref123")]
        let plan = try merged.plan(with: data, context: WriteContext(now: Self.now))
        #expect(plan.changes.payments.count == 2, "A inserted once, updated in place by the second command; B inserted")
        var ids = InsertedIds()
        ids.payments = [0: 1, 1: 2]
        let replies = plan.replies(ids).map { String(decoding: $0.body, as: UTF8.self) }
        #expect(replies == ["LineId,PaymentId,PaymentImportedRef,OrderId,OrderRef,Errors\n1,1,A,12345,Ref123,\n",
                            "LineId,PaymentId,PaymentImportedRef,OrderId,OrderRef,Errors\n1,1,A,12345,Ref123,\n2,2,B,12345,Ref123,\n"])
    }

    @Test("Cin7 commands need apiid and apikey headers")
    func credentials() throws {
        #expect(try UpdatePaymentsPlugin().credentials(request("")) == .apiKey(apiId: "123", apiKey: "12345"))
        let error = #expect(throws: DomainError.self) { try GetPaymentsPlugin().credentials(request("", headers: ["apiid": "123"])) }
        #expect(error?.code == .unauthorized)
        #expect(error?.message.contains("12345") == false)
    }

    @Test("GetPayments: the seed's query, and its reply row with the 13 fields in the seed's order")
    func getPayments() throws {
        let plugin = GetPaymentsPlugin()
        guard case .read(let read) = try plugin.decode(request("where=OrderRef%3D'Ref123'"), account: Self.account) else {
            Issue.record("not a read")
            return
        }
        #expect(read.reads().query?.filter != nil)
        var data = FetchedData()
        data.selected = [Self.seedPayment]
        #expect(String(decoding: read.reply(with: data).body, as: UTF8.self) == """
            PaymentId,PaymentImportedRef,OrderId,OrderRef,CreatedDate,Active,Method,Direction,Amount,Date,TransactionAuthorized,TransactionRef,Comments
            1001,Ref456,12345,Ref123,2013-09-18 21:36:55,1,Direct Credit,1,123.50,2013-09-16 01:00:00,1,ABC123456789,

            """)
        #expect(read.reply(with: FetchedData()).body.isEmpty, "blank when no records")
        let fields = try #require(try? PaymentQuery.parse(urlQuery: "fields=PaymentId,Amount"))
        #expect(String(decoding: plugin.reply(to: [Self.seedPayment], query: fields).body, as: UTF8.self) == "PaymentId,Amount\n1001,123.50\n")
        let bad = #expect(throws: DomainError.self) { try plugin.decode(request("where=Colour='red'"), account: Self.account) }
        #expect(bad?.code == .invalidQuery)
    }

    @Test("DeletePayments needs a where, deletes exactly the rows it selects and returns them, or a blank body")
    func deletePayments() throws {
        let plugin = DeletePaymentsPlugin()
        let missing = #expect(throws: DomainError.self) { try plugin.decode(request("orderby=PaymentId"), account: Self.account) }
        #expect(missing?.code == .invalidQuery)
        let write = try #require(try write(plugin.decode(request("where=OrderRef%3D'Ref123'"), account: Self.account)))
        #expect(write.reads().query?.filter != nil)
        var second = Self.seedPayment
        second.id = 1002
        second.importedRef = "Ref457"
        var data = FetchedData()
        data.selected = [Self.seedPayment, second]
        let plan = try write.plan(with: data, context: WriteContext(now: Self.now))
        #expect(plan.changes.deletedPaymentIds == [1001, 1002])
        let reply = try #require(plan.replies(InsertedIds()).first)
        #expect(String(decoding: reply.body, as: UTF8.self) == "PaymentId,PaymentImportedRef,OrderId,OrderRef\n1001,Ref456,12345,Ref123\n1002,Ref457,12345,Ref123\n")
        #expect(plugin.reply(to: []).body.isEmpty)
    }

    @Test("UpdateOrders reads the orders its lines name, inserts a new ref, and replies per line")
    func updateOrders() throws {
        let plugin = UpdateOrdersPlugin()
        let write = try #require(try write(plugin.decode(request("OrderRef\nRef123\nRef124\n"), account: Self.account)))
        #expect(write.reads().orderRefs == ["Ref123", "Ref124"])
        var data = FetchedData()
        data.orders = [Order(id: 12345, ref: "Ref123")]
        let plan = try write.plan(with: data, context: WriteContext(now: Self.now))
        #expect(plan.changes.orders == [.insert(ref: "Ref124")])
        var ids = InsertedIds()
        ids.orders = [0: 12346]
        let reply = try #require(plan.replies(ids).first)
        #expect(String(decoding: reply.body, as: UTF8.self) == "LineId,OrderId,OrderRef,Errors\n1,12345,Ref123,\n2,12346,Ref124,\n")
    }

    @Test("CancelPayment: the seed's request as strict JSON, and a reply shaped like the seed's; as the seed writes it, MALFORMED at its trailing comma")
    func cancelPayment() throws {
        let plugin = CancelPaymentPlugin()
        #expect(throws: DomainError(.malformed, "the body is not JSON (RFC 8259): a key in double quotes expected at byte 218")) {
            try plugin.decode(request(Self.seedCancelAsWritten, headers: [:]), account: Self.account)
        }
        let seed = request(Self.seedCancel, headers: [:])
        #expect(try plugin.credentials(seed) == .token("B8D7A12E9F91AFADE914B7330AFD08CB"))
        let cancel = try #require(try write(plugin.decode(seed, account: Self.account)) as? CancelPaymentWrite)
        #expect(cancel.request.payment == .referenceNumber("117"))
        #expect(cancel.request.details.typeId == "T1")
        #expect(cancel.request.details.categoryId == "C1")
        #expect(cancel.reads().paymentImportedRefs == ["117"])

        var posted = Self.seedPayment
        posted.importedRef = "117"
        var data = FetchedData()
        data.found([posted])
        data.counters.nextCancellationNumber = 4
        let now = try UTCDateTime(parsing: "2014-07-14T17:21:06")
        let plan = try cancel.plan(with: data, context: WriteContext(now: now))
        #expect(plan.changes.nextCancellationNumber == 5)
        guard case .update(let cancelled)? = plan.changes.payments.first else {
            Issue.record("the payment is not updated")
            return
        }
        #expect(cancelled.lifeCycleState == .cancelled && !cancelled.active)
        var ids = InsertedIds()
        ids.cancellations = [7]
        let reply = try #require(plan.replies(ids).first)
        let json = try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]
        let status = json?["status"] as? [String: Any]
        #expect(status?["code"] as? String == "OK")
        #expect(status?["message"] is NSNull)
        let body = json?["data"] as? [String: Any]
        let payment = body?["payment"] as? [String: Any]
        #expect(payment?["id"] as? String == "1001")
        #expect(payment?["number"] as? String == "1")
        #expect(payment?["reference_number"] as? String == "117")
        #expect(payment?["life_cycle_state"] as? String == "CANCELLED")
        #expect(payment?["issued_on"] as? String == "2013-09-18T21:36:55")
        #expect((payment?["payment_amount"] as? NSNumber)?.doubleValue == 123.5)
        let created = body?["payment_cancellation"] as? [String: Any]
        #expect(created?["life_cycle_state"] as? String == "POSTED")
        #expect(created?["id"] as? String == "7")
        #expect(created?["number"] as? String == "4")
        #expect(created?["posted_on"] as? String == "2014-07-14T17:21:06")

        let refused = #expect(throws: DomainError.self) { try cancel.plan(with: FetchedData(), context: WriteContext(now: now)) }
        #expect(refused?.code == .notFound)

        let limited = request(#"{"token":"t","payment_identifier":{"id":"1001"},"type_identifier":{"id":"T1"},"fields_set":"id,life_cycle_state"}"#, headers: [:])
        let few = try #require(try write(plugin.decode(limited, account: Self.account))).plan(with: data, context: WriteContext(now: now))
        #expect(String(decoding: try #require(few.replies(ids).first).body, as: UTF8.self).contains(#""payment":{"id":"1001","life_cycle_state":"CANCELLED"}"#))
    }

    @Test("CancelPayment refusals", arguments: [
        (#"not json"#, "MALFORMED"),
        (#"{"token":"t","type_identifier":{"name":"Payment Cancellation"}}"#, "VALIDATION"),
        (#"{"token":"t","payment_identifier":{"id":"1","number":"2"},"type_identifier":{"id":"T1"}}"#, "VALIDATION"),
        (#"{"token":"t","payment_identifier":{"id":"x"},"type_identifier":{"id":"T1"}}"#, "VALIDATION"),
        (#"{"token":"t","payment_identifier":{"id":"1"},"type_identifier":{"name":"Refund"}}"#, "NOT_FOUND"),
        (#"{"token":"t","payment_identifier":{"id":"1"},"type_identifier":{"id":"T1"},"colour":"red"}"#, "VALIDATION"),
        (#"{"token":"t","payment_identifier":{"id":"1"},"type_identifier":{"id":"T1"},"udf_date_1":"someday"}"#, "VALIDATION"),
        (#"{"token":"t","payment_identifier":{"id":"1"},"type_identifier":{"id":"T1"},"fields_set":"id,colour"}"#, "VALIDATION"),
    ])
    func cancelRefusals(body: String, code: String) {
        let error = #expect(throws: DomainError.self) { try CancelPaymentPlugin().decode(request(body, headers: [:]), account: Self.account) }
        #expect(error?.code.rawValue == code)
        let reply = CancelPaymentPlugin().errorReply(error ?? DomainError(.internal, "none"))
        #expect(String(decoding: reply.body, as: UTF8.self).hasSuffix(#","code":"\#(code)"},"data":null}"#))
        #expect(reply.status == "error")
    }

    @Test("CancelPayment parses strictly: what is not RFC 8259 JSON, and a key given twice, are MALFORMED naming the byte")
    func strictJSON() throws {
        let plugin = CancelPaymentPlugin()
        let loose = [
            #"{"token":"A","token":"B"}"#: "the key \"token\" is given twice at byte 14",
            #"{"token":+1}"#: "a value (object, array, string, number, true, false or null) expected at byte 10",
            #"{'token':'A'}"#: "a key in double quotes expected at byte 2",
            #"{"token":"A"/*c*/}"#: "',' or '}' expected at byte 13",
            #"{"token":"A",}"#: "a key in double quotes expected at byte 14",
            #"{"n":0x10}"#: "',' or '}' expected at byte 7",
            #"{"n":NaN}"#: "a value (object, array, string, number, true, false or null) expected at byte 6",
            #"{"n":.5}"#: "a value (object, array, string, number, true, false or null) expected at byte 6",
            #"{"n":01}"#: "a number with a leading zero at byte 7",
            #"{"s":"\x"}"#: "an unknown escape '\\x' at byte 8",
            #"{"s":"\ud800"}"#: "a high surrogate without its low surrogate at byte 13",
            "{\"s\":\"a\u{01}b\"}": "a control character inside a string (escape it) at byte 8",
            String(repeating: "[", count: 100): "nesting deeper than 64 levels at byte 65",
            #"{"token":"A"} {}"#: "text after the JSON value at byte 15",
            "": "the body ends where a value was expected at byte 1",
        ]
        for (body, fault) in loose {
            #expect(throws: DomainError(.malformed, "the body is not JSON (RFC 8259): \(fault)"), "\(body.prefix(40))") {
                try plugin.credentials(request(body, headers: [:]))
            }
        }
        #expect(try JSONValue.parse(Array(#" {"a":[1,-0.50,2e3,"\u00e9\ud83d\ude00\n",true,false,null],"b":{}} "#.utf8))
            == .object(["a": .array([.number("1"), .number("-0.5"), .number("2000"), .string("é😀\n"), .bool(true), .bool(false), .null]),
                        "b": .object([:])]))
    }
}
