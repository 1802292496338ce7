import GRDB
import GRDBSQLite
import PaymentsDomain

/// Binds a payment's (or an idempotency record's) columns straight onto a GRDB statement with
/// SQLite's C API and steps it.
///
/// `StatementArguments` boxes every value in an existential; for bulk upserts that boxing was
/// the largest cost after SQLite itself (see README, "Bulk upsert"). Text and blobs are
/// gathered into one buffer per statement and bound without a copy (`SQLITE_STATIC`) while
/// the statement runs: SQLite copying each value (`SQLITE_TRANSIENT`) cost a `malloc` and a
/// `free` a cell. Same statements, same transaction, GRDB still owns the connection and the
/// statement cache.
struct SQLitePaymentBinder {
    private enum Parameter {
        case integer(Int64)
        case text(start: Int, count: Int)
        case blob(start: Int, count: Int)
        case null
    }

    private var parameters: [Parameter] = []
    /// Every text and blob parameter's bytes, back to back, after one byte that gives an
    /// empty text or blob an address (SQLite reads a null address as NULL).
    private var bytes: [UInt8] = [0]

    private init(capacity: Int) {
        parameters.reserveCapacity(capacity)
        bytes.reserveCapacity(capacity * 16)
    }

    /// Runs a statement bound with `values` and hands each result row to `row`.
    static func query(_ values: [SQLValue], with statement: Statement, in db: Database, row: (OpaquePointer) throws -> Void) throws {
        var binder = SQLitePaymentBinder(capacity: values.count)
        for value in values {
            switch value {
            case .integer(let number): binder.append(number)
            case .text(let text): binder.append(text)
            case .null: binder.append(nil as String?)
            }
        }
        try binder.run(statement, in: db, row: row)
    }

    /// Runs `INSERT ... VALUES (id, account, number, <mutable columns>), ...`, one row a payment.
    static func insert(_ payments: ArraySlice<Payment>, account: String, with statement: Statement, in db: Database) throws {
        var binder = SQLitePaymentBinder(capacity: payments.count * 16)
        for payment in payments {
            binder.append(payment.id)
            binder.append(account)
            binder.append(payment.number)
            binder.appendMutableColumns(of: payment)
        }
        try binder.run(statement, in: db)
    }

    /// Runs `INSERT INTO idempotency_records (<MultiRowInsert.recordInsert's columns>) ...`.
    static func insertRecords(
        _ replies: ArraySlice<StoredReply>, of indices: ArraySlice<Int>, in commands: [StoreCommand], with statement: Statement, in db: Database
    ) throws {
        var binder = SQLitePaymentBinder(capacity: indices.count * 9)
        for (reply, index) in zip(replies, indices) {
            binder.append(commands[index].account)
            binder.append(commands[index].idempotencyKey)
            binder.appendBlob(commands[index].fingerprint)
            binder.append(reply.status)
            binder.append(reply.contentType)
            binder.appendBlob(reply.body)
            binder.append(reply.error?.code.rawValue)
            binder.append(reply.error?.message)
            binder.append(commands[index].epochSeconds)
        }
        try binder.run(statement, in: db)
    }

    /// Runs `UPDATE ... SET <mutable columns> WHERE account_id = ? AND id = ?`.
    static func update(_ payment: Payment, account: String, with statement: Statement, in db: Database) throws {
        var binder = SQLitePaymentBinder(capacity: 15)
        binder.appendMutableColumns(of: payment)
        binder.append(account)
        binder.append(payment.id)
        try binder.run(statement, in: db)
    }

    /// The columns an update may change, in the order both statements name them.
    private mutating func appendMutableColumns(of payment: Payment) {
        append(payment.importedRef)
        append(payment.orderId)
        append(payment.createdDate)
        append(Int64(payment.active ? 1 : 0))
        append(payment.method)
        append(Int64(payment.direction.rawValue))
        append(payment.amount.scaled)
        append(payment.date)
        append(Int64(payment.transactionAuthorized ? 1 : 0))
        append(payment.transactionRef)
        append(payment.comments)
        append(payment.backOfficeCode)
        append(payment.lifeCycleState.rawValue)
    }

    private mutating func append(_ value: Int64) {
        parameters.append(.integer(value))
    }

    private mutating func append(_ value: String?) {
        guard let value else { return parameters.append(.null) }
        let start = bytes.count
        bytes.append(contentsOf: value.utf8)
        parameters.append(.text(start: start, count: bytes.count - start))
    }

    /// A date in the Cin7 form, written straight into the buffer.
    private mutating func append(_ date: UTCDateTime?) {
        guard let date else { return parameters.append(.null) }
        let start = bytes.count
        date.appendCin7(to: &bytes)
        parameters.append(.text(start: start, count: bytes.count - start))
    }

    private mutating func appendBlob(_ blob: [UInt8]) {
        let start = bytes.count
        bytes.append(contentsOf: blob)
        parameters.append(.blob(start: start, count: blob.count))
    }

    /// Binds every parameter, steps the statement to its end (handing over its rows), and
    /// unbinds, all while the buffer the bindings point into is alive.
    private func run(_ statement: Statement, in db: Database, row: (OpaquePointer) throws -> Void = { _ in }) throws {
        let handle = statement.sqliteStatement
        sqlite3_reset(handle)
        try bytes.withUnsafeBufferPointer { buffer in
            defer {
                sqlite3_reset(handle)
                sqlite3_clear_bindings(handle)
            }
            guard let base = buffer.baseAddress else { throw StoreError("no parameter buffer", kind: .permanent) }
            for (offset, parameter) in parameters.enumerated() {
                let index = Int32(offset + 1)
                let code = switch parameter {
                case .integer(let value):
                    sqlite3_bind_int64(handle, index, value)
                case .text(let start, let count):
                    (base + start).withMemoryRebound(to: CChar.self, capacity: max(count, 1)) {
                        sqlite3_bind_text(handle, index, $0, Int32(count), Self.sqliteStatic)
                    }
                case .blob(let start, let count):
                    sqlite3_bind_blob(handle, index, base + start, Int32(count), Self.sqliteStatic)
                case .null:
                    sqlite3_bind_null(handle, index)
                }
                // A value left unbound would be written as NULL or as the last one: never step.
                guard code == SQLITE_OK else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: code), message: "parameter \(index) could not be bound", sql: statement.sql)
                }
            }
            while true {
                let code = sqlite3_step(handle)
                if code == SQLITE_DONE { return }
                guard code == SQLITE_ROW else {
                    throw DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(db.sqliteConnection)), sql: statement.sql)
                }
                try row(handle)
            }
        }
    }

    /// A statement's parameters hold pointers into `bytes` only while `run` runs.
    private static let sqliteStatic = unsafeBitCast(0, to: sqlite3_destructor_type.self)

    /// The payments a statement selecting `PaymentSQL.selectColumns` finds with `values`.
    static func payments(_ values: [SQLValue], with statement: Statement, in db: Database) throws -> [Payment] {
        var payments: [Payment] = []
        try query(values, with: statement, in: db) { payments.append(try payment(at: $0)) }
        return payments
    }

    private static func payment(at handle: OpaquePointer) throws -> Payment {
        try PaymentSQL.payment(integer: { sqlite3_column_int64(handle, Int32($0)) }, text: { text(handle, $0) })
    }

    /// A result column as text; nil when NULL.
    static func text(_ row: OpaquePointer, _ column: Int) -> String? {
        guard let bytes = sqlite3_column_text(row, Int32(column)) else { return nil }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(row, Int32(column)))), as: UTF8.self)
    }

    /// A result column's bytes; empty when NULL or empty.
    static func bytes(_ row: OpaquePointer, _ column: Int) -> [UInt8] {
        guard let blob = sqlite3_column_blob(row, Int32(column)) else { return [] }
        return Array(UnsafeRawBufferPointer(start: blob, count: Int(sqlite3_column_bytes(row, Int32(column)))))
    }
}
