import Foundation
import GRDB
import GRDBSQLite
import PaymentsDomain

/// The embedded store: one SQLite file in WAL mode through GRDB, on one connection that
/// holds the file's lock exclusively, so every call is serialised.
///
/// Exclusive locking keeps WAL's index in heap memory instead of a memory-mapped `-shm`
/// file: a fault under that mapping (the file cut short, made immutable, its disk gone) is
/// a SIGBUS that kills the process, where a fault on the database or WAL file is an error
/// the worker waits out as an outage. The price is that a read (GetPayments) waits for the
/// write before it, and that one process at a time opens a SQLite store: a second worker on
/// the same file stops at start-up, the database being locked (PostgreSQL is the store for
/// several workers).
public final class SQLitePaymentStore: PaymentStore {
    private let database: DatabaseQueue

    public init(path: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        var configuration = Configuration()
        configuration.busyMode = .timeout(5)
        configuration.prepareDatabase { db in
            // Exclusive before WAL is first used: then SQLite never maps a `-shm` file.
            _ = try String.fetchOne(db, sql: "PRAGMA locking_mode = EXCLUSIVE")
            _ = try String.fetchOne(db, sql: "PRAGMA journal_mode = WAL")
            // WAL makes NORMAL durable against a crash of the process; only power loss can
            // drop the last transactions, which the broker then redelivers.
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        do {
            database = try DatabaseQueue(path: path, configuration: configuration)
            try SQLiteSchema.migrator.migrate(database)
        } catch {
            throw Self.storeError(error)
        }
    }

    public func execute(_ commands: [StoreCommand]) async throws -> [StoreOutcome] {
        do {
            return try await database.write { db in
                try Self.outcomes(of: commands, in: db)
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    public func payments(account: String, matching query: PaymentQuery) async throws -> [Payment] {
        do {
            return try await database.read { db in
                let bound = PaymentSQL.select(account: account, query: query, dialect: .sqlite)
                return try Self.fetchPayments(db, bound.sql, bound.values)
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    public func idempotencyRecord(account: String, key: String) async throws -> IdempotencyRecord? {
        do {
            return try await database.read { db in try Self.fetchRecord(db, account: account, key: key) }
        } catch {
            throw Self.storeError(error)
        }
    }

    public func purgeIdempotencyRecords(createdBefore epochSeconds: Int64) async throws -> Int {
        do {
            return try await database.write { db in
                try db.execute(sql: "DELETE FROM idempotency_records WHERE created_at < ?", arguments: [epochSeconds])
                return db.changesCount
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    public func provision(order: Order, account: String) async throws {
        do {
            try await database.write { db in
                try db.execute(
                    sql: "INSERT INTO orders (id, account_id, order_ref) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                    arguments: [order.id, account, order.ref])
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// A real write (the header's user version, set to itself), so that a full disk or a
    /// read-only file fails it as it fails the commands.
    public func ping() async throws {
        do {
            try await database.write { db in
                let version = try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0
                try db.execute(sql: "PRAGMA user_version = \(version)")
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    public func close() async throws {
        try database.close()
    }

    // MARK: - One command

    /// Runs one command and records its reply. Every operation reads and plans before it
    /// writes, and refuses (throws `DomainError`) only while planning, so a refusal leaves
    /// nothing behind without the cost of a savepoint per command.
    static func execute(_ command: StoreCommand, in db: Database) throws -> StoredReply {
        let outcome: OperationOutcome
        do {
            outcome = try run(command, in: db)
        } catch let refusal as DomainError {
            outcome = .refused(refusal)
        }
        let reply = command.reply(outcome)
        try record(reply, of: command, in: db)
        return reply
    }

    /// UpdatePayments commands of one account and one moment, planned as one run of lines:
    /// the same effects and replies as one after the other, with one set of lookups.
    static func executeUpdatePayments(
        _ run: [(command: StoreCommand, lines: [PaymentLine])], in db: Database
    ) throws -> [StoredReply] {
        guard let first = run.first?.command, run.count > 1 else { return try run.map { try execute($0.command, in: db) } }
        let results: [PaymentLineResult]
        do {
            results = try updatePayments(run.map(\.lines), account: first.account, now: first.now, in: db)
        } catch is DomainError {
            // Thrown while planning, before any write: each command then gets its own answer.
            return try run.map { try execute($0.command, in: db) }
        }
        let replies = zip(run, try BatchSchedule.split(results, among: run)).map { member, own in
            member.command.reply(.payments(own))
        }
        try record(replies, of: run.map(\.command), in: db)
        return replies
    }

    /// The idempotency records of `commands`, in statements of many rows.
    private static func record(_ replies: [StoredReply], of commands: [StoreCommand], in db: Database) throws {
        try MultiRowInsert.recordInsert.forEachStatement(rows: commands.count, in: db) { range, statement in
            try SQLitePaymentBinder.insertRecords(replies[range], of: commands[range], with: statement, in: db)
        }
    }

    private static func record(_ reply: StoredReply, of command: StoreCommand, in db: Database) throws {
        try record([reply], of: [command], in: db)
    }

    private static func run(_ command: StoreCommand, in db: Database) throws -> OperationOutcome {
        let account = command.account
        switch command.operation {
        case .updatePayments(let lines):
            return .payments(try updatePayments([lines], account: account, now: command.now, in: db))
        case .updateOrders(let lines):
            return .orders(try updateOrders(lines, account: account, in: db))
        case .deletePayments(let query):
            return .deleted(try deletePayments(query, account: account, in: db))
        case .cancelPayment(let request):
            let (payment, cancellation) = try cancel(request, account: account, now: command.now, in: db)
            return .cancelled(payment: payment, cancellation: cancellation)
        }
    }

    private static func updatePayments(_ lines: [[PaymentLine]], account: String, now: UTCDateTime, in db: Database) throws -> [PaymentLineResult] {
        let keys = PaymentUpsertPlanner.keys(for: lines)
        var lookup = PaymentLookup()
        for chunk in chunks(Array(keys.paymentIds)) {
            lookup.payments += try fetchPayments(
                db, "SELECT \(PaymentSQL.selectColumns) \(PaymentSQL.fromPayments) WHERE p.account_id = ? AND p.id IN (\(placeholders(chunk.count)))",
                [.text(account)] + chunk.map { .integer($0) })
        }
        for chunk in chunks(Array(keys.importedRefs)) {
            lookup.payments += try fetchPayments(
                db, "SELECT \(PaymentSQL.selectColumns) \(PaymentSQL.fromPayments) WHERE p.account_id = ? AND p.imported_ref IN (\(placeholders(chunk.count)))",
                [.text(account)] + chunk.map { .text($0) })
        }
        for chunk in chunks(Array(keys.orderIds)) {
            lookup.orders += try fetchOrders(db, "WHERE account_id = ? AND id IN (\(placeholders(chunk.count)))", [.text(account)] + chunk.map { .integer($0) })
        }
        for chunk in chunks(Array(keys.orderRefs)) {
            lookup.orders += try fetchOrders(db, "WHERE account_id = ? AND order_ref IN (\(placeholders(chunk.count)))", [.text(account)] + chunk.map { .text($0) })
        }
        for chunk in chunks(Array(keys.backOfficeCodes)) {
            let rows = try Row.fetchAll(
                db.cachedStatement(sql: "SELECT back_office_code, id FROM payments WHERE account_id = ? AND back_office_code IN (\(placeholders(chunk.count)))"),
                arguments: StatementArguments([account] + chunk))
            for row in rows { lookup.backOfficeCodeOwners[row[0]] = row[1] }
        }
        let nextNumber = try counter(.payments, account: account, in: db)
        let plan = PaymentUpsertPlanner.plan(lines, lookup: lookup, now: now, nextNumber: nextNumber)

        // Ids are given here rather than by SQLite, so that consecutive inserts go as one
        // statement of many rows (a third faster than one a row) and their ids are known.
        var nextId = try Int64.fetchOne(db.cachedStatement(sql: """
            SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'payments'), 0),
                       COALESCE((SELECT MAX(id) FROM payments), 0)) + 1
            """)) ?? 1
        var insertedIds: [Int: Int64] = [:]
        var pendingInserts: [Payment] = []
        let update = try db.cachedStatement(sql: """
            UPDATE payments SET imported_ref = ?, order_id = ?, created_date = ?, active = ?, method = ?, direction = ?,
            amount = ?, payment_date = ?, transaction_authorized = ?, transaction_ref = ?, comments = ?,
            back_office_code = ?, life_cycle_state = ? WHERE account_id = ? AND id = ?
            """)
        for (index, write) in plan.writes.enumerated() {
            switch write {
            case .insert(var payment):
                payment.id = nextId
                insertedIds[index] = nextId
                nextId += 1
                pendingInserts.append(payment)
            case .update(let payment):
                // Writes stay in line order: the planner's key claims assume it.
                try insertPayments(pendingInserts, account: account, in: db)
                pendingInserts.removeAll(keepingCapacity: true)
                try SQLitePaymentBinder.update(payment, account: account, with: update, in: db)
            }
        }
        try insertPayments(pendingInserts, account: account, in: db)
        if plan.numbersUsed > 0 { try setCounter(.payments, to: nextNumber + plan.numbersUsed, account: account, in: db) }
        return plan.results(insertedIds: insertedIds)
    }

    private static func insertPayments(_ payments: [Payment], account: String, in db: Database) throws {
        try MultiRowInsert.paymentInsert.forEachStatement(rows: payments.count, in: db) { range, statement in
            try SQLitePaymentBinder.insert(payments[range], account: account, with: statement, in: db)
        }
    }

    private static func updateOrders(_ lines: [OrderLine], account: String, in db: Database) throws -> [OrderLineResult] {
        let keys = OrderUpsertPlanner.keys(for: lines)
        var existing: [Order] = []
        for chunk in chunks(Array(keys.ids)) {
            existing += try fetchOrders(db, "WHERE account_id = ? AND id IN (\(placeholders(chunk.count)))", [.text(account)] + chunk.map { .integer($0) })
        }
        for chunk in chunks(Array(keys.refs)) {
            existing += try fetchOrders(db, "WHERE account_id = ? AND order_ref IN (\(placeholders(chunk.count)))", [.text(account)] + chunk.map { .text($0) })
        }
        let plan = OrderUpsertPlanner.plan(lines, existing: existing)
        var insertedIds: [Int: Int64] = [:]
        for (index, write) in plan.writes.enumerated() {
            switch write {
            case .insert(let ref):
                try db.execute(sql: "INSERT INTO orders (account_id, order_ref) VALUES (?, ?)", arguments: [account, ref])
                insertedIds[index] = db.lastInsertedRowID
            case .rename(let order):
                try db.execute(sql: "UPDATE orders SET order_ref = ? WHERE account_id = ? AND id = ?", arguments: [order.ref, account, order.id])
            }
        }
        return plan.results(insertedIds: insertedIds)
    }

    private static func deletePayments(_ query: PaymentQuery, account: String, in db: Database) throws -> [Payment] {
        let bound = PaymentSQL.select(account: account, query: query, dialect: .sqlite)
        let doomed = try fetchPayments(db, bound.sql, bound.values)
        for chunk in chunks(doomed.map(\.id)) {
            try db.execute(
                sql: "DELETE FROM payments WHERE account_id = ? AND id IN (\(placeholders(chunk.count)))",
                arguments: arguments([.text(account)] + chunk.map { .integer($0) }))
        }
        return doomed
    }

    private static func cancel(
        _ request: CancelPaymentRequest, account: String, now: UTCDateTime, in db: Database
    ) throws -> (Payment, PaymentCancellation) {
        let (column, value): (String, SQLValue) = switch request.payment {
        case .id(let id): ("p.id", .integer(id))
        case .number(let number): ("p.number", .integer(number))
        case .referenceNumber(let reference): ("p.imported_ref", .text(reference))
        case .backOfficeCode(let code): ("p.back_office_code", .text(code))
        }
        let payment = try fetchPayments(
            db, "SELECT \(PaymentSQL.selectColumns) \(PaymentSQL.fromPayments) WHERE p.account_id = ? AND \(column) = ?",
            [.text(account), value]).first
        var codeTaken = false
        if let code = request.details.backOfficeCode {
            codeTaken = try Bool.fetchOne(
                db, sql: "SELECT EXISTS (SELECT 1 FROM payment_cancellations WHERE account_id = ? AND back_office_code = ?)",
                arguments: [account, code]) ?? false
        }
        let nextNumber = try counter(.cancellations, account: account, in: db)
        var (cancelled, cancellation) = try CancelPlanner.plan(
            request, payment: payment, backOfficeCodeTaken: codeTaken, now: now, nextNumber: nextNumber)
        try db.execute(sql: "UPDATE payments SET life_cycle_state = ?, active = ? WHERE account_id = ? AND id = ?",
                       arguments: [cancelled.lifeCycleState.rawValue, cancelled.active, account, cancelled.id])
        let details = cancellation.details
        try db.execute(
            sql: """
                INSERT INTO payment_cancellations (account_id, number, payment_id, amount, issued_on, posted_on,
                life_cycle_state, type_id, category_id, notes, back_office_code, issue_reason, udf)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """,
            arguments: [account, cancellation.number, cancellation.paymentId, cancellation.amount.scaled,
                        cancellation.issuedOn.cin7, cancellation.postedOn.cin7, cancellation.lifeCycleState.rawValue,
                        details.typeId, details.categoryId, details.notes, details.backOfficeCode, details.issueReason,
                        UDFValues(details).json])
        cancellation.id = db.lastInsertedRowID
        try setCounter(.cancellations, to: nextNumber + 1, account: account, in: db)
        return (cancelled, cancellation)
    }

    // MARK: - Reading rows

    private enum Counter: String {
        case payments = "next_payment_number"
        case cancellations = "next_cancellation_number"
    }

    /// The account's next number; reading it writes nothing, so a refusal after it is clean.
    private static func counter(_ counter: Counter, account: String, in db: Database) throws -> Int64 {
        let select = try db.cachedStatement(sql: "SELECT \(counter.rawValue) FROM account_counters WHERE account_id = ?")
        return try Int64.fetchOne(select, arguments: [account]) ?? 1
    }

    private static func setCounter(_ counter: Counter, to next: Int64, account: String, in db: Database) throws {
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO account_counters (account_id, \(counter.rawValue)) VALUES (?, ?)
            ON CONFLICT (account_id) DO UPDATE SET \(counter.rawValue) = excluded.\(counter.rawValue)
            """)
        try upsert.execute(arguments: [account, next])
    }

    typealias KnownRecord = BatchSchedule.KnownRecord

    /// The idempotency records of a batch's keys, by account and key. Bound and read
    /// directly: a batch looks up to 900 keys at once, and most find nothing.
    static func fetchRecords(for commands: [StoreCommand], in db: Database) throws -> [BatchSchedule.RecordKey: KnownRecord] {
        var records: [BatchSchedule.RecordKey: KnownRecord] = [:]
        for (account, keys) in BatchSchedule.keysByAccount(commands) {
            for chunk in chunks(Array(keys)) {
                let select = try db.cachedStatement(sql: """
                    SELECT idempotency_key, fingerprint, reply_status, reply_content_type, reply_body
                    FROM idempotency_records WHERE account_id = ? AND idempotency_key IN (\(placeholders(chunk.count)))
                    """)
                try SQLitePaymentBinder.query([.text(account)] + chunk.map { .text($0) }, with: select, in: db) { row in
                    let key = SQLitePaymentBinder.text(row, 0) ?? ""
                    records[BatchSchedule.RecordKey(account: account, key: key)] = knownRecord(row, from: 1)
                }
            }
        }
        return records
    }

    static func fetchPayments(_ db: Database, _ sql: String, _ values: [SQLValue]) throws -> [Payment] {
        // Bound and read directly: a lookup binds up to 900 references.
        try SQLitePaymentBinder.payments(values, with: db.cachedStatement(sql: sql), in: db)
    }

    private static func fetchOrders(_ db: Database, _ whereClause: String, _ values: [SQLValue]) throws -> [Order] {
        try Row.fetchAll(db.cachedStatement(sql: "SELECT id, order_ref FROM orders \(whereClause)"), arguments: arguments(values))
            .map { Order(id: $0[0], ref: $0[1]) }
    }

    private static func fetchRecord(_ db: Database, account: String, key: String) throws -> IdempotencyRecord? {
        let select = try db.cachedStatement(sql: """
            SELECT fingerprint, reply_status, reply_content_type, reply_body, created_at
            FROM idempotency_records WHERE account_id = ? AND idempotency_key = ?
            """)
        var record: IdempotencyRecord?
        try SQLitePaymentBinder.query([.text(account), .text(key)], with: select, in: db) { row in
            let known = knownRecord(row, from: 0)
            record = IdempotencyRecord(key: key, fingerprint: known.fingerprint, reply: known.reply, createdAt: sqlite3_column_int64(row, 4))
        }
        return record
    }

    /// Fingerprint, status, content type and body of a record, from `column` on.
    private static func knownRecord(_ row: OpaquePointer, from column: Int) -> KnownRecord {
        (SQLitePaymentBinder.bytes(row, column),
         StoredReply(status: SQLitePaymentBinder.text(row, column + 1) ?? "", contentType: SQLitePaymentBinder.text(row, column + 2) ?? "",
                     body: SQLitePaymentBinder.bytes(row, column + 3)))
    }

    private static func arguments(_ values: [SQLValue]) -> StatementArguments {
        StatementArguments(values.map { value -> (any DatabaseValueConvertible)? in
            switch value {
            case .integer(let number): number
            case .text(let text): text
            case .null: nil
            }
        })
    }

    private static func placeholders(_ count: Int) -> String {
        Array(repeating: "?", count: count).joined(separator: ", ")
    }

    /// `IN` lists of at most 900 values (SQLite allows 32 766 parameters a statement), each
    /// padded to a power of two (or 900) by repeating its last value: an `IN` list means the
    /// same with repeats, and the statement cache then holds 11 shapes, not 900.
    private static func chunks<Element>(_ values: [Element]) -> [[Element]] {
        stride(from: 0, to: values.count, by: 900).map { start in
            var chunk = Array(values[start..<min(start + 900, values.count)])
            var size = 1
            while size < chunk.count { size *= 2 }
            if let last = chunk.last { chunk += repeatElement(last, count: min(size, 900) - chunk.count) }
            return chunk
        }
    }

    static func storeError(_ error: any Error) -> any Error {
        if error is StoreError || error is DomainError { return error }
        if let database = error as? DatabaseError {
            // Locked past the busy timeout, I/O faults, a full disk, a read-only or missing
            // file: the file is away, not the command wrong.
            let unavailable: [ResultCode] = [
                .SQLITE_BUSY, .SQLITE_LOCKED, .SQLITE_IOERR, .SQLITE_FULL, .SQLITE_CANTOPEN, .SQLITE_READONLY,
                .SQLITE_NOLFS, .SQLITE_PERM,
            ]
            // The message names the fault, never the values bound to the statement.
            return StoreError("SQLite: \(database.resultCode): \(database.message ?? "")",
                              kind: unavailable.contains(database.resultCode.primaryResultCode) ? .unavailable : .permanent)
        }
        return StoreError("SQLite: \(error)", kind: .permanent)
    }
}
