import CancelPaymentPlugin
import PaymentStores
import PaymentsDomain
import Testing
import UpdateOrdersPlugin
import UpdatePaymentsPlugin

/// One suite, run against every store: the rules of docs/contract.md §5 and §6 hold the same on each.
@Suite("Store conformance", .timeLimit(.minutes(3)))
struct StoreConformanceTests {
    static let seedInsert = """
        OrderRef,PaymentImportedRef,Active,Method,Direction,Amount,Date,TransactionAuthorized,TransactionRef
        Ref123,Ref456,1,Direct Credit,1,123.50,2013-09-16 1:00:00,1,ABC123456789
        """

    private func withStore(_ kind: StoreKind, _ body: (StoreHarness) async throws -> Void) async throws {
        let harness = try await StoreHarness.make(kind)
        try await harness.store.provision(order: Order(id: 12345, ref: "Ref123"), account: "123")
        do {
            try await body(harness)
        } catch {
            await harness.close()
            throw error
        }
        await harness.close()
    }

    @Test("the seed examples: insert, update of the reference, get, delete, cancel", arguments: StoreKind.allCases)
    func seedExamples(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let inserted = try await harness.updatePayments(Self.seedInsert)
            #expect(inserted == [PaymentLineResult(lineId: "1", paymentId: 1001, importedRef: "Ref456", orderId: 12345, orderRef: "Ref123")])

            let updated = try await harness.updatePayments("PaymentId,TransactionAuthorized,TransactionRef\n1001,1,ABC123456789\n")
            #expect(updated == inserted)

            let rows = try await harness.get("where=OrderRef%3D'Ref123'")
            #expect(rows.count == 1)
            let row = try #require(rows.first)
            #expect(PaymentField.getDefaults.map { $0.text(of: row) ?? "" } == [
                "1001", "Ref456", "12345", "Ref123", "2026-11-22 10:00:00", "1", "Direct Credit", "1", "123.50",
                "2013-09-16 01:00:00", "1", "ABC123456789", "",
            ])
            #expect(row.lifeCycleState == .posted)
            #expect(row.number == 1)

            guard case .cancelled(let payment, let cancellation)? = try await harness.cancel(.referenceNumber("Ref456")) else {
                Issue.record("cancel did not succeed")
                return
            }
            #expect(payment.id == 1001)
            #expect(payment.lifeCycleState == .cancelled)
            #expect(!payment.active)
            #expect(cancellation.lifeCycleState == .posted)
            #expect(cancellation.amount == payment.amount)
            #expect(cancellation.paymentId == 1001)
            #expect(cancellation.number == 1)
            #expect(try await harness.get("where=LifeCycleState='CANCELLED' AND Active=0").map(\.id) == [1001])

            _ = try await harness.updatePayments("OrderRef,PaymentImportedRef,Amount\nRef123,Ref457,10\n")
            guard case .deleted(let deleted)? = try await harness.delete("where=OrderRef%3D'Ref123'") else {
                Issue.record("delete did not run")
                return
            }
            #expect(deleted.map { [$0.id, $0.orderId] } == [[1001, 12345], [1002, 12345]])
            #expect(deleted.map(\.importedRef) == ["Ref456", "Ref457"])
            #expect(try await harness.get("").isEmpty)
        }
    }

    @Test("a line naming an existing PaymentImportedRef updates that payment; it never makes a second", arguments: StoreKind.allCases)
    func upsertByImportedRef(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let first = try await harness.updatePayments("OrderRef,PaymentImportedRef,Amount,Method\nRef123,R1,10,Cash\n")
            let second = try await harness.updatePayments("PaymentImportedRef,Amount,Comments\nR1,25.5,\"late, but paid\"\n")
            #expect(second[0].paymentId == first[0].paymentId)
            #expect(second[0].errors == "")
            let rows = try await harness.get("where=PaymentImportedRef='R1'")
            #expect(rows.count == 1)
            #expect(rows.first?.amount.description == "25.50")
            #expect(rows.first?.method == "Cash", "a column not given keeps its value")
            #expect(rows.first?.comments == "late, but paid")
        }
    }

    @Test("a large import gets consecutive ids in line order, and no id is ever given twice, even after deletes", arguments: StoreKind.allCases)
    func paymentIds(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            // 150 inserts with an update in the middle: runs of rows of every statement size.
            let first = try await harness.updatePayments("OrderRef,PaymentImportedRef,Amount\nRef123,ID-0,1\n")
            var csv = "OrderRef,PaymentImportedRef,PaymentId,Amount\n"
            for line in 1...150 { csv += line == 77 ? "Ref123,ID-0,\(first[0].paymentId ?? 0),2\n" : "Ref123,ID-\(line),,1\n" }
            let bulk = try await harness.updatePayments(csv)
            #expect(bulk.allSatisfy { $0.errors.isEmpty })
            let inserted = bulk.enumerated().filter { $0.offset != 76 }.compactMap(\.element.paymentId)
            #expect(inserted == Array(1002...1150), "ids follow the seed's 1001, in line order")
            let stored = try await harness.get("fields=PaymentId,PaymentImportedRef&orderby=PaymentId")
            #expect(stored.map(\.id) == Array(1001...1150))
            #expect(stored.map(\.importedRef) == (0...150).filter { $0 != 77 }.map { "ID-\($0)" })

            _ = try await harness.delete("where=PaymentId>=1140")
            let next = try await harness.updatePayments("OrderRef,PaymentImportedRef,Amount\nRef123,ID-after,1\n")
            #expect(next[0].paymentId == 1151, "a deleted id is not given again")
        }
    }

    @Test("unknown PaymentId is Failed, an unknown order is said, and neither changes anything", arguments: StoreKind.allCases)
    func lineFailures(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let results = try await harness.updatePayments("""
                PaymentId,OrderRef,PaymentImportedRef,Amount
                424242,,,5
                ,Ref999,R9,5
                ,Ref123,R10,abc
                ,Ref123,R11,7
                """)
            #expect(results.map(\.errors) == ["Failed", "order 'Ref999' not found", "line 4: Amount (column 4): amount 'abc' is not a decimal number such as 123.50", ""])
            #expect(try await harness.get("").map(\.importedRef) == ["R11"])
        }
    }

    @Test("amounts and every date form are stored exactly", arguments: StoreKind.allCases)
    func exactValues(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            _ = try await harness.updatePayments("""
                OrderRef,PaymentImportedRef,Amount,Date,CreatedDate
                Ref123,A,0.1,2013-09-16 1:00:00,2013-09-16
                Ref123,B,123.5,2014-07-14T17:06:14,2014-07-14T17:06:14Z
                Ref123,C,99999999.9999,2013-09-16 23:59:59,
                """)
            let rows = try await harness.get("orderby=PaymentImportedRef")
            #expect(rows.map(\.amount.description) == ["0.10", "123.50", "99999999.9999"])
            #expect(rows.map { $0.date?.cin7 } == ["2013-09-16 01:00:00", "2014-07-14 17:06:14", "2013-09-16 23:59:59"])
            #expect(rows.map(\.createdDate.cin7) == ["2013-09-16 00:00:00", "2014-07-14 17:06:14", "2026-11-22 10:00:00"])
            #expect(try await harness.get("where=Amount=99999999.9999").map(\.importedRef) == ["C"])
            #expect(try await harness.get("where=Amount>0.1 AND Amount<'123.51'").map(\.importedRef) == ["B"])
        }
    }

    @Test("the where grammar selects the right rows, in the asked order", arguments: StoreKind.allCases)
    func whereGrammar(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            _ = try await harness.updatePayments("""
                OrderRef,PaymentImportedRef,Amount,Method,Direction,Comments,Date
                Ref123,P1,10,Cash,1,,2013-01-01
                Ref123,P2,20,Direct Credit,-1,refund,2013-02-01
                Ref123,P3,30,cash,1,x,2013-03-01
                Ref123,P_4,40,Card,1,,2013-04-01
                """)
            func refs(_ query: String) async throws -> [String] {
                try await harness.get(query).compactMap(\.importedRef)
            }
            #expect(try await refs("where=Method LIKE 'cash'") == ["P1", "P3"], "LIKE ignores case")
            #expect(try await refs("where=Method NOT LIKE 'C%25'") == ["P2"])
            #expect(try await refs("where=PaymentImportedRef LIKE 'P_'") == ["P1", "P2", "P3"])
            #expect(try await refs("where=Amount IN (10, 40)") == ["P1", "P_4"])
            #expect(try await refs("where=Amount NOT BETWEEN 15 AND 35") == ["P1", "P_4"])
            #expect(try await refs("where=Comments IS NULL") == ["P1", "P_4"])
            #expect(try await refs("where=NOT (Direction = 1 AND Amount > 15)") == ["P1", "P2"])
            #expect(try await refs("where=Date >= '2013-02-01' AND Date < '2013-04-01'") == ["P2", "P3"])
            #expect(try await refs("orderby=Comments DESC, Amount") == ["P3", "P2", "P1", "P_4"])
            #expect(try await refs("where=Method = 'Cash' OR Method = 'Card'&orderby=Amount desc") == ["P_4", "P1"])
        }
    }

    @Test("hostile where clauses change nothing", arguments: StoreKind.allCases)
    func hostileInput(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            _ = try await harness.updatePayments("OrderRef,PaymentImportedRef,Amount\nRef123,Keep1,1\nRef123,Keep2,2\n")
            let hostile = [
                "' OR 1=1 --", "1=1; DROP TABLE payments", "OrderRef = 'x'; DROP TABLE payments",
                "OrderRef = 'x' OR '1'='1", "(((Active = 1", "Active = 1))", "OrderRef = 'unbalanced",
                String(repeating: "(", count: 10_000) + "Active = 1" + String(repeating: ")", count: 10_000),
            ]
            for text in hostile {
                let percentEncoded = text.replacingOccurrences(of: "%", with: "%25").replacingOccurrences(of: "&", with: "%26")
                #expect(throws: DomainError.self, "\(text.prefix(40))") { try PaymentQuery.parse(urlQuery: "where=" + percentEncoded) }
            }
            // Quotes inside a value are data, never SQL.
            #expect(try await harness.get("where=OrderRef = 'x'' OR ''1''=''1'").isEmpty)
            #expect(try await harness.get("where=PaymentImportedRef = 'Keep1'' --'").isEmpty)
            guard case .deleted(let none)? = try await harness.delete("where=OrderRef = ''' OR 1=1 --'") else {
                Issue.record("delete did not run")
                return
            }
            #expect(none.isEmpty)
            #expect(try await harness.get("").map(\.importedRef) == ["Keep1", "Keep2"])
        }
    }

    @Test("another account can neither see, update, delete nor cancel the first account's payments", arguments: StoreKind.allCases)
    func accountIsolation(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let mine = try await harness.updatePayments(Self.seedInsert)
            let id = try #require(mine.first?.paymentId)
            try await harness.store.provision(order: Order(id: 777, ref: "Other1"), account: "other")

            #expect(try await harness.get("where=PaymentId > 0 OR Active = 1 OR Active = 0", account: "other").isEmpty)
            #expect(try await harness.get("where=PaymentImportedRef = 'Ref456'", account: "other").isEmpty)
            let update = try await harness.updatePayments("PaymentId,Amount\n\(id),0.01\n", account: "other")
            #expect(update.map(\.errors) == ["Failed"])
            let byOrder = try await harness.updatePayments("OrderId,PaymentImportedRef,Amount\n12345,Sneaky,1\n", account: "other")
            #expect(byOrder.map(\.errors) == ["order 12345 not found"])
            // The same reference in another account is another payment.
            let ownRef = try await harness.updatePayments("OrderRef,PaymentImportedRef,Amount\nOther1,Ref456,9\n", account: "other")
            #expect(ownRef.first?.errors == "")
            #expect(ownRef.first?.paymentId != id)
            guard case .deleted(let deleted)? = try await harness.delete("where=PaymentId = \(id) OR OrderRef = 'Ref123'", account: "other") else {
                Issue.record("delete did not run")
                return
            }
            #expect(deleted.isEmpty)
            guard case .refused(let refusal)? = try await harness.cancel(.id(id), account: "other") else {
                Issue.record("another account cancelled the payment")
                return
            }
            #expect(refusal.code == .notFound)

            let untouched = try await harness.get("")
            #expect(untouched.map(\.amount.description) == ["123.50"])
            #expect(untouched.map(\.lifeCycleState) == [.posted])
        }
    }

    @Test("a PaymentImportedRef or BackOfficeCode an update frees may be taken by a later line of the same command, or swapped between two payments", arguments: StoreKind.allCases)
    func keysFreedAndTaken(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let first = try await harness.updatePayments("OrderRef,PaymentImportedRef,Amount,BackOfficeCode\nRef123,X,1,BX\nRef123,W,2,BW\n")
            let (x, w) = (first[0].paymentId ?? 0, first[1].paymentId ?? 0)
            let moved = try await harness.updatePayments("""
                PaymentId,OrderRef,PaymentImportedRef,Amount,BackOfficeCode
                \(x),,Y,,BY
                ,Ref123,X,3,BX
                \(w),,Z,,BZ
                \(x),,W,,BW
                """)
            #expect(moved.map(\.errors) == ["", "", "", ""])
            let rows = try await harness.get("orderby=PaymentId")
            #expect(rows.map(\.importedRef) == ["W", "Z", "X"])
            #expect(rows.map(\.backOfficeCode) == ["BW", "BZ", "BX"])
        }
    }

    @Test("BackOfficeCode is unique per account, on payments and on cancellations", arguments: StoreKind.allCases)
    func uniqueBackOfficeCode(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let first = try await harness.updatePayments("OrderRef,PaymentImportedRef,Amount,BackOfficeCode\nRef123,B1,1,BOC-1\n")
            let second = try await harness.updatePayments("OrderRef,PaymentImportedRef,Amount,BackOfficeCode\nRef123,B2,1,BOC-1\n")
            #expect(first[0].errors == "")
            #expect(second[0].errors == "BackOfficeCode 'BOC-1' belongs to another payment (\(first[0].paymentId ?? 0))")
            #expect(try await harness.get("").count == 1)

            _ = try await harness.updatePayments("OrderRef,PaymentImportedRef,Amount\nRef123,B3,1\n")
            guard case .cancelled? = try await harness.cancel(.backOfficeCode("BOC-1"), backOfficeCode: "CAN-1") else {
                Issue.record("cancel by back office code failed")
                return
            }
            guard case .refused(let duplicate)? = try await harness.cancel(.referenceNumber("B3"), backOfficeCode: "CAN-1") else {
                Issue.record("a repeated cancellation back office code was accepted")
                return
            }
            #expect(duplicate.code == .duplicate)
            #expect(try await harness.get("where=PaymentImportedRef='B3'").first?.lifeCycleState == .posted, "nothing changed")
        }
    }

    @Test("only a POSTED payment can be cancelled; refusals change nothing", arguments: StoreKind.allCases)
    func cancelRules(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let inserted = try await harness.updatePayments(Self.seedInsert)
            let id = try #require(inserted.first?.paymentId)
            guard case .cancelled? = try await harness.cancel(.id(id)) else {
                Issue.record("first cancel failed")
                return
            }
            guard case .refused(let again)? = try await harness.cancel(.number(1)) else {
                Issue.record("a cancelled payment was cancelled again")
                return
            }
            #expect(again.code == .invalidState)
            #expect(again.message == "payment \(id) is CANCELLED; only a POSTED payment can be cancelled")
            guard case .refused(let missing)? = try await harness.cancel(.referenceNumber("117")) else {
                Issue.record("an unknown payment was cancelled")
                return
            }
            #expect(missing == DomainError(.notFound, "no payment with reference_number '117' in this account"))
            let refused = try await harness.updatePayments("PaymentId,Amount\n\(id),1\n")
            #expect(refused[0].errors == "payment \(id) is CANCELLED and cannot change")
        }
    }

    @Test("idempotency: same key and body replays, another body conflicts, neither changes anything", arguments: StoreKind.allCases)
    func idempotency(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let lines = try PaymentLineDecoder.decode(try CSVReader.read(Self.seedInsert))
            let first = try await harness.run(.updatePayments(lines), key: "k-1", fingerprint: "body-a")
            guard case .applied(let reply) = first.outcome else {
                Issue.record("not applied")
                return
            }
            let replay = try await harness.run(.updatePayments(lines), key: "k-1", fingerprint: "body-a")
            #expect(replay.outcome == .replayed(reply))
            #expect(replay.operation == nil, "a replay runs nothing")
            let conflict = try await harness.run(.updatePayments(lines), key: "k-1", fingerprint: "body-b")
            #expect(conflict.outcome == .conflict)
            #expect(try await harness.get("").count == 1)

            // The same key in another account is another command.
            try await harness.store.provision(order: Order(id: 9, ref: "Ref123"), account: "other")
            #expect(try await harness.run(.updatePayments(lines), account: "other", key: "k-1", fingerprint: "body-a").operation != nil)

            // A refused command is recorded too, its code and message as fields, and replays
            // as refused.
            let cancel = TestOperation.cancelPayment(CancelPaymentRequest(payment: .id(5), details: CancellationDetails(typeId: "T")))
            let refused = try await harness.run(cancel, key: "k-2")
            guard case .applied(let refusal) = refused.outcome else {
                Issue.record("the refusal was not recorded: \(refused.outcome)")
                return
            }
            #expect(refusal.status == "error" && refusal.error?.code == .notFound)
            #expect(refusal == ErrorReplyFormat.cin7.reply(for: refusal.error ?? DomainError(.internal, "")), "written as the command's format says")
            #expect(refusal.error?.message.isEmpty == false)
            #expect(try await harness.run(cancel, key: "k-2").outcome == .replayed(refusal), "replayed with its code and message")
            #expect(try await harness.store.idempotencyRecord(account: "123", key: "k-2")?.reply == refusal)

            let record = try #require(try await harness.store.idempotencyRecord(account: "123", key: "k-1"))
            #expect(record.fingerprint == Array("body-a".utf8))
            #expect(record.reply == reply)
            #expect(try await harness.store.purgeIdempotencyRecords(createdBefore: 1_795_000_001) == 3)
            #expect(try await harness.store.idempotencyRecord(account: "123", key: "k-1") == nil)
        }
    }

    @Test("a batch of commands is one transaction; a later command sees an earlier one's key", arguments: StoreKind.allCases)
    func batches(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let lines = try PaymentLineDecoder.decode(try CSVReader.read(Self.seedInsert))
            let commands = ["k1", "k1", "k2"].map { key in
                StoreCommand(account: "123", idempotencyKey: key, fingerprint: Array("same".utf8), operation: .updatePayments(lines),
                             now: harness.now, epochSeconds: 1, reply: TestReply.make)
            }
            let outcomes = try await harness.store.execute(commands)
            guard case .applied(let reply) = outcomes[0] else {
                Issue.record("first not applied")
                return
            }
            #expect(outcomes[1] == .replayed(reply))
            guard case .applied = outcomes[2] else {
                Issue.record("k2 not applied")
                return
            }
            // k2 named the same ref: it updated the payment k1 made.
            #expect(try await harness.get("").count == 1)
        }
    }

    /// Single-line commands of one account may be planned together; nothing a client sees
    /// may differ from running them one after the other.
    @Test("a batch of mixed commands answers and stores exactly what they do one at a time", arguments: StoreKind.allCases)
    func batchEqualsOneAtATime(kind: StoreKind) async throws {
        let bodies: [(key: String, account: String, operation: TestOperation)] = try [
            ("a", "123", .updatePayments(Self.lines("OrderRef,PaymentImportedRef,Amount\nRef123,P1,1\n"))),
            ("b", "123", .updatePayments(Self.lines("PaymentImportedRef,Amount,BackOfficeCode\nP1,2,B1\n"))),
            ("c", "123", .updatePayments(Self.lines("OrderRef,PaymentImportedRef,Amount,BackOfficeCode\nRef123,P2,3,B1\nNoSuch,P3,4\n"))),
            ("a", "123", .updatePayments(Self.lines("OrderRef,PaymentImportedRef,Amount\nRef123,P1,1\n"))),
            ("d", "123", .updateOrders(try OrderLineDecoder.decode(try CSVReader.read("OrderRef\nO-9\n")))),
            ("e", "123", .updatePayments(Self.lines("OrderRef,PaymentImportedRef,Amount\nO-9,P4,5\nRef123,P4,6\n"))),
            ("f", "456", .updatePayments(Self.lines("OrderRef,PaymentImportedRef,Amount\nRef123,P1,7\n"))),
            ("g", "123", .updatePayments(Self.lines("PaymentId,Amount\n999999,8\n"))),
            // The id the first command's insert gets: known only once it is written.
            ("h", "123", .updatePayments(Self.lines("OrderRef,PaymentImportedRef,Amount\nRef123,P5,10\n"))),
            ("i", "123", .updatePayments(Self.lines("PaymentId,Amount\n1003,11\n"))),
            ("b", "123", .updatePayments(Self.lines("PaymentImportedRef,Amount\nP1,9\n"))),
        ]
        func commands(_ harness: StoreHarness) -> [StoreCommand] {
            bodies.enumerated().map { index, body in
                // Same key and same body replay; "b" comes back with another body: a conflict.
                let fingerprint = body.key == "a" ? "a" : "\(body.key)-\(index)"
                return StoreCommand(account: body.account, idempotencyKey: body.key, fingerprint: Array(fingerprint.utf8),
                                    operation: body.operation, now: harness.now, epochSeconds: 1_795_000_000, reply: TestReply.make)
            }
        }
        var answers: [[StoreOutcome]] = []
        var stored: [[Payment]] = []
        for together in [true, false] {
            try await withStore(kind) { harness in
                var outcomes: [StoreOutcome] = []
                if together {
                    outcomes = try await harness.store.execute(commands(harness))
                } else {
                    for command in commands(harness) { outcomes += try await harness.store.execute([command]) }
                }
                answers.append(outcomes)
                stored.append(try await harness.get("") + (try await harness.get("", account: "456")))
                // The records were stored, not only remembered within the batch: sent again,
                // the run's commands are replays of their first answers.
                let again = try await harness.store.execute(Array(commands(harness)[1...2]))
                #expect(again == outcomes[1...2].map { if case .applied(let reply) = $0 { .replayed(reply) } else { $0 } })
            }
        }
        #expect(answers[0] == answers[1])
        #expect(stored[0] == stored[1])
        // The run did something worth comparing: inserts, an update, refusals, a replay, a conflict.
        #expect(stored[0].map(\.importedRef) == ["P1", "P4", "P5"])
        #expect(stored[0].first { $0.id == 1003 }?.amount == Amount(scaled: 110_000))
        if case .applied(let reply) = answers[0][0] { #expect(answers[0][3] == .replayed(reply)) } else { Issue.record("a not applied") }
        #expect(answers[0][10] == .conflict)
    }

    private static func lines(_ csv: String) throws -> [PaymentLine] {
        try PaymentLineDecoder.decode(try CSVReader.read(csv))
    }

    @Test("UpdateOrders registers orders once per OrderRef and renames by OrderId", arguments: StoreKind.allCases)
    func orders(kind: StoreKind) async throws {
        try await withStore(kind) { harness in
            let results = try await harness.updateOrders("LineId,OrderRef\na,O-1\nb,O-2\nc,O-1\nd,Ref123\ne,\n")
            #expect(results.map(\.lineId) == ["a", "b", "c", "d", "e"])
            #expect(results[0].orderId == results[2].orderId)
            #expect(results[3].orderId == 12345)
            #expect(results[4].errors == "OrderRef is needed")
            let renamed = try await harness.updateOrders("OrderId,OrderRef\n\(results[1].orderId ?? 0),O-2b\n999999,X\n")
            #expect(renamed.map(\.errors) == ["", "Failed"])
            let payment = try await harness.updatePayments("OrderRef,PaymentImportedRef,Amount\nO-2b,Q1,3\n")
            #expect(payment[0].orderId == results[1].orderId)
        }
    }
}
