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
    /// so DESIGN.md §3) does not allow.
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

    private func request(_ body: String, headers: [String: String] = ["apiid": "123", "apikey": "12345"]) -> CommandRequest {
        CommandRequest(body: Array(body.utf8), headers: headers)
    }

    @Test("UpdatePayments: the seed's insert decodes to one line, and its reply is the seed's")
    func updatePayments() throws {
        let plugin = UpdatePaymentsPlugin()
        let csv = "OrderRef,PaymentImportedRef,Active,Method,Direction,Amount,Date,TransactionAuthorized,TransactionRef\nRef123,Ref456,1,Direct Credit,1,123.50,2013-09-16 1:00:00,1,ABC123456789\n"
        guard case .write(.updatePayments(let lines)) = try plugin.decode(request(csv), account: Self.account) else {
            Issue.record("not an UpdatePayments write")
            return
        }
        #expect(lines.count == 1)
        let reply = plugin.reply(to: .payments([PaymentLineResult(lineId: "1", paymentId: 1001, importedRef: "Ref456", orderId: 12345, orderRef: "Ref123")]), request: request(csv))
        #expect(String(decoding: reply.body, as: UTF8.self) == "LineId,PaymentId,PaymentImportedRef,OrderId,OrderRef,Errors\n1,1001,Ref456,12345,Ref123,\n")
        #expect(reply.status == "ok")
        #expect(reply.contentType == "text/csv")
        let partial = plugin.reply(to: .payments([PaymentLineResult(lineId: "1", errors: "Failed")]), request: request(csv))
        #expect(partial.status == "partial")
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
        guard case .read(let query) = try plugin.decode(request("where=OrderRef%3D'Ref123'"), account: Self.account) else {
            Issue.record("not a read")
            return
        }
        let reply = plugin.reply(to: [Self.seedPayment], query: query)
        #expect(String(decoding: reply.body, as: UTF8.self) == """
            PaymentId,PaymentImportedRef,OrderId,OrderRef,CreatedDate,Active,Method,Direction,Amount,Date,TransactionAuthorized,TransactionRef,Comments
            1001,Ref456,12345,Ref123,2013-09-18 21:36:55,1,Direct Credit,1,123.50,2013-09-16 01:00:00,1,ABC123456789,

            """)
        #expect(plugin.reply(to: [], query: query).body.isEmpty, "blank when no records")
        let fields = try #require(try? PaymentQuery.parse(urlQuery: "fields=PaymentId,Amount"))
        #expect(String(decoding: plugin.reply(to: [Self.seedPayment], query: fields).body, as: UTF8.self) == "PaymentId,Amount\n1001,123.50\n")
        let bad = #expect(throws: DomainError.self) { try plugin.decode(request("where=Colour='red'"), account: Self.account) }
        #expect(bad?.code == .invalidQuery)
    }

    @Test("DeletePayments needs a where, and returns the deleted rows or a blank body")
    func deletePayments() throws {
        let plugin = DeletePaymentsPlugin()
        let missing = #expect(throws: DomainError.self) { try plugin.decode(request("orderby=PaymentId"), account: Self.account) }
        #expect(missing?.code == .invalidQuery)
        guard case .write(.deletePayments) = try plugin.decode(request("where=OrderRef%3D'Ref123'"), account: Self.account) else {
            Issue.record("not a delete")
            return
        }
        var second = Self.seedPayment
        second.id = 1002
        second.importedRef = "Ref457"
        let reply = plugin.reply(to: .deleted([Self.seedPayment, second]), request: request(""))
        #expect(String(decoding: reply.body, as: UTF8.self) == "PaymentId,PaymentImportedRef,OrderId,OrderRef\n1001,Ref456,12345,Ref123\n1002,Ref457,12345,Ref123\n")
        #expect(plugin.reply(to: .deleted([]), request: request("")).body.isEmpty)
    }

    @Test("UpdateOrders decodes its lines and replies per line")
    func updateOrders() throws {
        let plugin = UpdateOrdersPlugin()
        guard case .write(.updateOrders(let lines)) = try plugin.decode(request("OrderRef\nRef123\n"), account: Self.account) else {
            Issue.record("not an UpdateOrders write")
            return
        }
        #expect(lines == [OrderLine(lineId: "1", orderRef: "Ref123")])
        let reply = plugin.reply(to: .orders([OrderLineResult(lineId: "1", orderId: 12345, orderRef: "Ref123")]), request: request(""))
        #expect(String(decoding: reply.body, as: UTF8.self) == "LineId,OrderId,OrderRef,Errors\n1,12345,Ref123,\n")
    }

    @Test("CancelPayment: the seed's request as strict JSON, and a reply shaped like the seed's; as the seed writes it, MALFORMED at its trailing comma")
    func cancelPayment() throws {
        let plugin = CancelPaymentPlugin()
        #expect(throws: DomainError(.malformed, "the body is not JSON (RFC 8259): a key in double quotes expected at byte 218")) {
            try plugin.decode(request(Self.seedCancelAsWritten, headers: [:]), account: Self.account)
        }
        let seed = request(Self.seedCancel, headers: [:])
        #expect(try plugin.credentials(seed) == .token("B8D7A12E9F91AFADE914B7330AFD08CB"))
        guard case .write(.cancelPayment(let cancel)) = try plugin.decode(seed, account: Self.account) else {
            Issue.record("not a cancel")
            return
        }
        #expect(cancel.payment == .referenceNumber("117"))
        #expect(cancel.details.typeId == "T1")
        #expect(cancel.details.categoryId == "C1")

        var cancelled = Self.seedPayment
        cancelled.lifeCycleState = .cancelled
        cancelled.active = false
        let cancellation = PaymentCancellation(
            id: 7, number: 1, paymentId: 1001, amount: cancelled.amount, issuedOn: try UTCDateTime(parsing: "2014-07-14T17:21:06"),
            postedOn: try UTCDateTime(parsing: "2014-07-14T17:21:06"), details: cancel.details)
        let reply = plugin.reply(to: .cancelled(payment: cancelled, cancellation: cancellation), request: seed)
        let json = try JSONSerialization.jsonObject(with: Data(reply.body)) as? [String: Any]
        let status = json?["status"] as? [String: Any]
        #expect(status?["code"] as? String == "OK")
        #expect(status?["message"] is NSNull)
        let data = json?["data"] as? [String: Any]
        let payment = data?["payment"] as? [String: Any]
        #expect(payment?["id"] as? String == "1001")
        #expect(payment?["number"] as? String == "1")
        #expect(payment?["reference_number"] as? String == "Ref456")
        #expect(payment?["life_cycle_state"] as? String == "CANCELLED")
        #expect(payment?["issued_on"] as? String == "2013-09-18T21:36:55")
        #expect((payment?["payment_amount"] as? NSNumber)?.doubleValue == 123.5)
        let created = data?["payment_cancellation"] as? [String: Any]
        #expect(created?["life_cycle_state"] as? String == "POSTED")
        #expect(created?["id"] as? String == "7")
        #expect(created?["posted_on"] as? String == "2014-07-14T17:21:06")

        let limited = request(#"{"token":"t","payment_identifier":{"id":"1001"},"type_identifier":{"id":"T1"},"fields_set":"id,life_cycle_state"}"#, headers: [:])
        let few = plugin.reply(to: .cancelled(payment: cancelled, cancellation: cancellation), request: limited)
        #expect(String(decoding: few.body, as: UTF8.self).contains(#""payment":{"id":"1001","life_cycle_state":"CANCELLED"}"#))
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
