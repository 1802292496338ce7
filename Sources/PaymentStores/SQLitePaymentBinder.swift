import GRDB
import GRDBSQLite
import PaymentsDomain

/// Binds a payment's (or an idempotency record's) columns straight onto a GRDB statement with
/// SQLite's C API and steps it.
///
/// `StatementArguments` boxes every value in an existential; for bulk upserts that boxing was
/// the largest cost after SQLite itself (see README, "Bulk upsert"). Same statements, same
/// transaction, GRDB still owns the connection and the statement cache.
struct SQLitePaymentBinder {
    private let statement: Statement
    private var index: Int32 = 0

    private init(_ statement: Statement) {
        self.statement = statement
        sqlite3_reset(statement.sqliteStatement)
        sqlite3_clear_bindings(statement.sqliteStatement)
    }

    /// Binds `values` in order; the statement is then ready to step or to read rows from.
    static func bind(_ values: [SQLValue], to statement: Statement) {
        var binder = SQLitePaymentBinder(statement)
        for value in values {
            switch value {
            case .integer(let number): binder.bind(number)
            case .text(let text): binder.bind(text)
            case .null: binder.bind(nil as String?)
            }
        }
    }

    /// Runs `INSERT ... VALUES (id, account, number, <mutable columns>), ...`, one row a payment.
    static func insert(_ payments: ArraySlice<Payment>, account: String, with statement: Statement, in db: Database) throws {
        var binder = SQLitePaymentBinder(statement)
        for payment in payments {
            binder.bind(payment.id)
            binder.bind(account)
            binder.bind(payment.number)
            binder.bindMutableColumns(of: payment)
        }
        try binder.step(db)
    }

    /// Runs `INSERT INTO idempotency_records (<MultiRowInsert.recordInsert's columns>) ...`.
    static func insertRecords(
        _ replies: ArraySlice<StoredReply>, of commands: ArraySlice<StoreCommand>, with statement: Statement, in db: Database
    ) throws {
        var binder = SQLitePaymentBinder(statement)
        for (reply, command) in zip(replies, commands) {
            binder.bind(command.account)
            binder.bind(command.idempotencyKey)
            binder.bindBlob(command.fingerprint)
            binder.bind(reply.status)
            binder.bind(reply.contentType)
            binder.bindBlob(reply.body)
            binder.bind(command.epochSeconds)
        }
        try binder.step(db)
    }

    /// Runs `UPDATE ... SET <mutable columns> WHERE account_id = ? AND id = ?`.
    static func update(_ payment: Payment, account: String, with statement: Statement, in db: Database) throws {
        var binder = SQLitePaymentBinder(statement)
        binder.bindMutableColumns(of: payment)
        binder.bind(account)
        binder.bind(payment.id)
        try binder.step(db)
    }

    /// The columns an update may change, in the order both statements name them.
    private mutating func bindMutableColumns(of payment: Payment) {
        bind(payment.importedRef)
        bind(payment.orderId)
        bind(payment.createdDate.cin7)
        bind(Int64(payment.active ? 1 : 0))
        bind(payment.method)
        bind(Int64(payment.direction.rawValue))
        bind(payment.amount.scaled)
        bind(payment.date?.cin7)
        bind(Int64(payment.transactionAuthorized ? 1 : 0))
        bind(payment.transactionRef)
        bind(payment.comments)
        bind(payment.backOfficeCode)
        bind(payment.lifeCycleState.rawValue)
    }

    private mutating func bind(_ value: Int64) {
        index += 1
        sqlite3_bind_int64(statement.sqliteStatement, index, value)
    }

    private mutating func bind(_ value: String?) {
        index += 1
        guard let value else {
            sqlite3_bind_null(statement.sqliteStatement, index)
            return
        }
        var text = value
        text.withUTF8 { bytes in
            _ = sqlite3_bind_text(
                statement.sqliteStatement, index, UnsafeRawPointer(bytes.baseAddress)?.assumingMemoryBound(to: CChar.self),
                Int32(bytes.count), Self.transient)
        }
    }

    private mutating func bindBlob(_ bytes: [UInt8]) {
        index += 1
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress, !buffer.isEmpty else {
                // An empty blob, not NULL (which a NOT NULL column refuses).
                _ = sqlite3_bind_zeroblob(statement.sqliteStatement, index, 0)
                return
            }
            _ = sqlite3_bind_blob(statement.sqliteStatement, index, base, Int32(buffer.count), Self.transient)
        }
    }

    private func step(_ db: Database) throws {
        let code = sqlite3_step(statement.sqliteStatement)
        sqlite3_reset(statement.sqliteStatement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
        }
    }

    /// Steps a statement bound with `bind(_:to:)` that selects `PaymentSQL.selectColumns`.
    static func payments(from statement: Statement, in db: Database) throws -> [Payment] {
        let handle = statement.sqliteStatement
        defer { sqlite3_reset(handle) }
        var payments: [Payment] = []
        while true {
            let code = sqlite3_step(handle)
            if code == SQLITE_DONE { return payments }
            guard code == SQLITE_ROW else {
                throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
            }
            payments.append(try payment(at: handle))
        }
    }

    private static func payment(at handle: OpaquePointer) throws -> Payment {
        try PaymentSQL.payment(
            integer: { sqlite3_column_int64(handle, Int32($0)) },
            text: { column in
                guard let bytes = sqlite3_column_text(handle, Int32(column)) else { return nil }
                return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, Int32(column)))), as: UTF8.self)
            })
    }

    /// SQLITE_TRANSIENT: SQLite copies the text before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
