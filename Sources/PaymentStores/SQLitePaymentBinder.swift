import GRDB
import GRDBSQLite
import PaymentsDomain

/// Binds a payment's columns straight onto a GRDB statement with SQLite's C API and steps it.
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

    /// Runs `INSERT ... VALUES (account, number, <mutable columns>)`.
    static func insert(_ payment: Payment, account: String, with statement: Statement, in db: Database) throws {
        var binder = SQLitePaymentBinder(statement)
        binder.bind(account)
        binder.bind(payment.number)
        binder.bindMutableColumns(of: payment)
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

    private func step(_ db: Database) throws {
        let code = sqlite3_step(statement.sqliteStatement)
        sqlite3_reset(statement.sqliteStatement)
        guard code == SQLITE_DONE else {
            throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
        }
    }

    /// SQLITE_TRANSIENT: SQLite copies the text before the call returns.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
}
