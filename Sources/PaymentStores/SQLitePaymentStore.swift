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
                var engine = StoreEngine(commands, records: try Self.fetchRecords(for: commands, in: db))
                while let step = engine.nextStep() {
                    switch step {
                    case .read(let request, let account):
                        try engine.fetched(try Self.fetch(request, account: account, counters: true, in: db))
                    case .write(let changes, let account):
                        try engine.wrote(try Self.apply(changes, account: account, in: db))
                    }
                }
                try Self.record(engine.newRecords.replies, of: engine.newRecords.commands, in: commands, in: db)
                return try engine.outcomes()
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    public func read(_ request: DataRequest, account: String) async throws -> FetchedData {
        do {
            return try await database.read { db in try Self.fetch(request, account: account, counters: false, in: db) }
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

    /// Records are written in time order, so their rowids are too: the purge deletes up to the
    /// first record young enough to keep, reading only what it deletes, with no index by age
    /// to keep up on every write. A record written after the wall clock stepped back is kept
    /// until those before it go (later, never earlier, than its age says).
    public func purgeIdempotencyRecords(createdBefore epochSeconds: Int64) async throws -> Int {
        do {
            return try await database.write { db in
                try db.execute(sql: """
                    DELETE FROM idempotency_records WHERE rowid < COALESCE(
                        (SELECT rowid FROM idempotency_records WHERE created_at >= ? ORDER BY rowid LIMIT 1),
                        (SELECT MAX(rowid) + 1 FROM idempotency_records))
                    """, arguments: [epochSeconds])
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

    // MARK: - The engine's steps

    /// The idempotency records of the commands at `indices`, in statements of many rows.
    private static func record(_ replies: [StoredReply], of indices: [Int], in commands: [StoreCommand], in db: Database) throws {
        try MultiRowInsert.recordInsert.forEachStatement(rows: indices.count, in: db) { range, statement in
            try SQLitePaymentBinder.insertRecords(replies[range], of: indices[range], in: commands, with: statement, in: db)
        }
    }

    /// `counters`: a write plans with the account's next numbers; a read-only command has no
    /// use for them.
    static func fetch(_ request: DataRequest, account: String, counters: Bool, in db: Database) throws -> FetchedData {
        var data = FetchedData()
        let byKey: [(column: String, values: [SQLValue])] = [
            ("p.id", request.paymentIds.map { .integer($0) }),
            ("p.imported_ref", request.paymentImportedRefs.map { .text($0) }),
            ("p.number", request.paymentNumbers.map { .integer($0) }),
            ("p.back_office_code", request.paymentBackOfficeCodes.map { .text($0) }),
        ]
        for (column, values) in byKey {
            for chunk in chunks(values) {
                data.found(try fetchPayments(
                    db, "SELECT \(PaymentSQL.selectColumns) \(PaymentSQL.fromPayments) WHERE p.account_id = ? AND \(column) IN (\(placeholders(chunk.count)))",
                    [.text(account)] + chunk))
            }
        }
        for chunk in chunks(Array(request.orderIds)) {
            data.orders += try fetchOrders(db, "WHERE account_id = ? AND id IN (\(placeholders(chunk.count)))", [.text(account)] + chunk.map { .integer($0) })
        }
        for chunk in chunks(Array(request.orderRefs)) {
            data.orders += try fetchOrders(db, "WHERE account_id = ? AND order_ref IN (\(placeholders(chunk.count)))", [.text(account)] + chunk.map { .text($0) })
        }
        for chunk in chunks(Array(request.cancellationBackOfficeCodes)) {
            let codes = try String.fetchAll(
                db.cachedStatement(sql: "SELECT back_office_code FROM payment_cancellations WHERE account_id = ? AND back_office_code IN (\(placeholders(chunk.count)))"),
                arguments: StatementArguments([account] + chunk))
            data.cancellationBackOfficeCodesInUse.formUnion(codes)
        }
        if let query = request.query {
            let bound = PaymentSQL.select(account: account, query: query, dialect: .sqlite)
            data.selected = try fetchPayments(db, bound.sql, bound.values)
        }
        if counters, let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT next_payment_number, next_cancellation_number FROM account_counters WHERE account_id = ?"),
            arguments: [account]) {
            data.counters = AccountCounters(nextPaymentNumber: row[0], nextCancellationNumber: row[1])
        }
        return data
    }

    static func apply(_ changes: Changes, account: String, in db: Database) throws -> InsertedIds {
        var ids = InsertedIds()
        for chunk in chunks(changes.deletedPaymentIds) {
            try db.execute(
                sql: "DELETE FROM payments WHERE account_id = ? AND id IN (\(placeholders(chunk.count)))",
                arguments: arguments([.text(account)] + chunk.map { .integer($0) }))
        }
        for (index, change) in changes.orders.enumerated() {
            switch change {
            case .insert(let ref):
                try db.execute(sql: "INSERT INTO orders (account_id, order_ref) VALUES (?, ?)", arguments: [account, ref])
                ids.orders[index] = db.lastInsertedRowID
            case .rename(let order):
                try db.execute(sql: "UPDATE orders SET order_ref = ? WHERE account_id = ? AND id = ?", arguments: [order.ref, account, order.id])
            }
        }
        for chunk in chunks(changes.paymentsReleasingKeys) {
            try db.execute(
                sql: "UPDATE payments SET imported_ref = NULL, back_office_code = NULL WHERE account_id = ? AND id IN (\(placeholders(chunk.count)))",
                arguments: arguments([.text(account)] + chunk.map { .integer($0) }))
        }
        ids.payments = try apply(changes.payments, account: account, in: db)
        for cancellation in changes.cancellations {
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
            ids.cancellations.append(db.lastInsertedRowID)
        }
        if let next = changes.nextPaymentNumber { try setCounter(.payments, to: next, account: account, in: db) }
        if let next = changes.nextCancellationNumber { try setCounter(.cancellations, to: next, account: account, in: db) }
        return ids
    }

    /// Inserts and updates payments in order, giving the inserts their ids.
    private static func apply(_ changes: [PaymentChange], account: String, in db: Database) throws -> [Int: Int64] {
        guard !changes.isEmpty else { return [:] }
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
        for (index, change) in changes.enumerated() {
            switch change {
            case .insert(var payment):
                payment.id = nextId
                insertedIds[index] = nextId
                nextId += 1
                pendingInserts.append(payment)
            case .update(let payment):
                // In the planned order (the keys an update gives up were released first).
                try insertPayments(pendingInserts, account: account, in: db)
                pendingInserts.removeAll(keepingCapacity: true)
                try SQLitePaymentBinder.update(payment, account: account, with: update, in: db)
            }
        }
        try insertPayments(pendingInserts, account: account, in: db)
        return insertedIds
    }

    private static func insertPayments(_ payments: [Payment], account: String, in db: Database) throws {
        try MultiRowInsert.paymentInsert.forEachStatement(rows: payments.count, in: db) { range, statement in
            try SQLitePaymentBinder.insert(payments[range], account: account, with: statement, in: db)
        }
    }

    // MARK: - Reading rows

    private enum Counter: String {
        case payments = "next_payment_number"
        case cancellations = "next_cancellation_number"
    }

    private static func setCounter(_ counter: Counter, to next: Int64, account: String, in db: Database) throws {
        let upsert = try db.cachedStatement(sql: """
            INSERT INTO account_counters (account_id, \(counter.rawValue)) VALUES (?, ?)
            ON CONFLICT (account_id) DO UPDATE SET \(counter.rawValue) = excluded.\(counter.rawValue)
            """)
        try upsert.execute(arguments: [account, next])
    }

    typealias KnownRecord = StoreEngine.KnownRecord

    /// The idempotency records of a batch's keys, by account and key. Bound and read
    /// directly: a batch looks up to 900 keys at once, and most find nothing.
    static func fetchRecords(for commands: [StoreCommand], in db: Database) throws -> [StoreEngine.RecordKey: KnownRecord] {
        var records: [StoreEngine.RecordKey: KnownRecord] = [:]
        for (account, keys) in StoreEngine.keysByAccount(commands) {
            for chunk in chunks(Array(keys)) {
                let select = try db.cachedStatement(sql: """
                    SELECT idempotency_key, fingerprint, reply_status, reply_content_type, reply_body, reply_error_code, reply_error_message
                    FROM idempotency_records WHERE account_id = ? AND idempotency_key IN (\(placeholders(chunk.count)))
                    """)
                try SQLitePaymentBinder.query([.text(account)] + chunk.map { .text($0) }, with: select, in: db) { row in
                    let key = SQLitePaymentBinder.text(row, 0) ?? ""
                    records[StoreEngine.RecordKey(account: account, key: key)] = knownRecord(row, from: 1)
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
            SELECT fingerprint, reply_status, reply_content_type, reply_body, reply_error_code, reply_error_message, created_at
            FROM idempotency_records WHERE account_id = ? AND idempotency_key = ?
            """)
        var record: IdempotencyRecord?
        try SQLitePaymentBinder.query([.text(account), .text(key)], with: select, in: db) { row in
            let known = knownRecord(row, from: 0)
            record = IdempotencyRecord(key: key, fingerprint: known.fingerprint, reply: known.reply, createdAt: sqlite3_column_int64(row, 6))
        }
        return record
    }

    /// Fingerprint, status, content type, body, error code and message of a record, from
    /// `column` on.
    private static func knownRecord(_ row: OpaquePointer, from column: Int) -> KnownRecord {
        (SQLitePaymentBinder.bytes(row, column),
         StoredReply(status: SQLitePaymentBinder.text(row, column + 1) ?? "", contentType: SQLitePaymentBinder.text(row, column + 2) ?? "",
                     body: SQLitePaymentBinder.bytes(row, column + 3), errorCode: SQLitePaymentBinder.text(row, column + 4),
                     errorMessage: SQLitePaymentBinder.text(row, column + 5)))
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
