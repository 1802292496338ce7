import Foundation
import Logging
import NIOCore
import NIOSSL
import PaymentsDomain
import PostgresNIO
import Synchronization

/// The store for several workers in one consumer group: PostgreSQL through a postgres-nio
/// connection pool. Writers of one account are serialised by a row lock on the account's
/// counters, taken first in every write transaction, so two workers can never create the
/// same PaymentImportedRef, BackOfficeCode or OrderRef twice; the unique constraints stand
/// behind that, and a transaction that hits one (or a deadlock) fails as a conflict, which
/// the worker's retry policy runs again.
public final class PostgresPaymentStore: PaymentStore {
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    private let logger: Logger
    private let statistics: Mutex<(schedule: PostgresStatisticsSchedule, analyzing: Task<Void, Never>?)>

    /// `analyzeAfterRows`: see `PostgresStatisticsSchedule`.
    public init(
        url: String, maxConnections: Int = 10, analyzeAfterRows: Int = 10_000,
        logger: Logger = Logger(label: "payment-worker.postgres")
    ) async throws {
        statistics = Mutex((PostgresStatisticsSchedule(firstAfter: analyzeAfterRows), nil))
        let location = try PostgresURL(url)
        var configuration = location.clientConfiguration()
        configuration.options.maximumConnections = maxConnections
        // Migrated over a connection of its own, before the pool takes any lease.
        do {
            try await Self.migrate(location, logger: logger)
        } catch {
            // Says where it tried; the URL's password is never repeated.
            let failure = Self.storeError(error)
            throw StoreError("PostgreSQL at \(location.host):\(location.port)/\(location.database ?? location.username): \((failure as? StoreError)?.message ?? "\(failure)")",
                             kind: (failure as? StoreError)?.kind ?? .permanent)
        }
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.client = client
        self.logger = logger
        // Returns once the pool's task is under way, so the first lease finds it running.
        let (started, signal) = AsyncStream<Void>.makeStream()
        runner = Task {
            signal.finish()
            await client.run()
        }
        for await _ in started {}
    }

    private static func migrate(_ location: PostgresURL, logger: Logger) async throws {
        let connection = try await PostgresConnection.connect(configuration: try location.connectionConfiguration(), id: 0, logger: logger)
        do {
            try await connection.withTransaction(logger: logger) { connection in
                // Workers starting together migrate one at a time.
                try await connection.query("SELECT pg_advisory_xact_lock(7200411)", logger: logger)
                try await connection.query("CREATE TABLE IF NOT EXISTS schema_migrations (version INT PRIMARY KEY)", logger: logger)
                var applied: Set<Int> = []
                for try await version in try await connection.query("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) {
                    applied.insert(version)
                }
                for migration in PostgresSchema.migrations where !applied.contains(migration.version) {
                    for statement in migration.sql {
                        try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await connection.query("INSERT INTO schema_migrations (version) VALUES (\(migration.version))", logger: logger)
                }
            }
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }

    /// A clash with another writer (serialization failure, deadlock, a unique key taken
    /// meanwhile) throws a `.conflict` error: the caller's retry policy runs it again.
    public func execute(_ commands: [StoreCommand]) async throws -> [StoreOutcome] {
        do {
            let answers = try await client.withTransaction(logger: logger) { connection in
                var engine = StoreEngine(commands, records: try await fetchRecords(for: commands, on: connection))
                var locked: Set<String> = []
                while let step = engine.nextStep() {
                    switch step {
                    case .read(let request, let account):
                        // Every write takes its account's writer lock before it reads.
                        let counters: CounterRead = locked.insert(account).inserted ? .lockAndRead : .read
                        try engine.fetched(try await fetch(request, account: account, counters: counters, on: connection))
                    case .write(let changes, let account):
                        try engine.wrote(try await apply(changes, account: account, on: connection))
                    }
                }
                try await record(engine.newRecords.replies, of: engine.newRecords.commands.map { commands[$0] }, on: connection)
                return try engine.outcomes()
            }
            refreshStatisticsIfDue(afterWriting: commands)
            return answers
        } catch {
            throw Self.storeError(error)
        }
    }

    public func read(_ request: DataRequest, account: String) async throws -> FetchedData {
        do {
            return try await client.withConnection { connection in
                try await fetch(request, account: account, counters: .none, on: connection)
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    public func idempotencyRecord(account: String, key: String) async throws -> IdempotencyRecord? {
        do {
            return try await client.withConnection { connection in
                try await fetchRecord(connection, account: account, key: key)
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    public func purgeIdempotencyRecords(createdBefore epochSeconds: Int64) async throws -> Int {
        do {
            let rows = try await client.query(
                "DELETE FROM idempotency_records WHERE created_at < \(epochSeconds) RETURNING 1", logger: logger)
            var count = 0
            for try await _ in rows { count += 1 }
            return count
        } catch {
            throw Self.storeError(error)
        }
    }

    public func provision(order: Order, account: String) async throws {
        do {
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query(
                    "INSERT INTO orders (id, account_id, order_ref) VALUES (\(order.id), \(account), \(order.ref)) ON CONFLICT DO NOTHING",
                    logger: logger)
                // Ids the store assigns later start above the one given here.
                try await connection.query(
                    "SELECT setval(pg_get_serial_sequence('orders', 'id'), GREATEST((SELECT MAX(id) FROM orders), 1))",
                    logger: logger)
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    public func ping() async throws {
        do {
            for try await _ in try await client.query("SELECT 1", logger: logger) {}
        } catch {
            throw Self.storeError(error)
        }
    }

    public func close() async throws {
        await statistics.withLock { $0.analyzing }?.value
        runner.cancel()
        await runner.value
    }

    /// Counts the rows a batch wrote (a record a command, a row an UpdatePayments line) and
    /// starts an `ANALYZE` beside the writes when `PostgresStatisticsSchedule` says so.
    private func refreshStatisticsIfDue(afterWriting commands: [StoreCommand]) {
        let rows = commands.reduce(0) { $0 + 1 + $1.write.lineCount }
        statistics.withLock { state in
            guard state.schedule.wrote(rows) else { return }
            let written = state.schedule.written
            state.analyzing = Task { [self] in
                do {
                    try await client.query("ANALYZE payments, idempotency_records", logger: logger)
                    logger.debug("planner statistics refreshed", metadata: ["rows_written": "\(written)"])
                } catch {
                    logger.info("could not refresh planner statistics", metadata: ["error": "\(Self.storeError(error))"])
                }
                statistics.withLock { $0.schedule.finished() }
            }
        }
    }

    // MARK: - The engine's steps

    private func fetchRecords(
        for commands: [StoreCommand], on connection: PostgresConnection
    ) async throws -> [StoreEngine.RecordKey: StoreEngine.KnownRecord] {
        var records: [StoreEngine.RecordKey: StoreEngine.KnownRecord] = [:]
        for (account, keys) in StoreEngine.keysByAccount(commands) {
            let rows = try await connection.query("""
                SELECT idempotency_key, fingerprint, reply_status, reply_content_type, reply_body, reply_error_code, reply_error_message
                FROM idempotency_records WHERE account_id = \(account) AND idempotency_key = ANY(\(Array(keys)))
                """, logger: logger)
            for try await (key, fingerprint, status, contentType, body, code, message)
                in rows.decode((String, Data, String, String, Data, String?, String?).self) {
                records[StoreEngine.RecordKey(account: account, key: key)] = (
                    Array(fingerprint),
                    StoredReply(status: status, contentType: contentType, body: Array(body), errorCode: code, errorMessage: message))
            }
        }
        return records
    }

    /// The commands' idempotency records, in one statement: a round trip each was most of
    /// a run's time.
    private func record(_ replies: [StoredReply], of commands: [StoreCommand], on connection: PostgresConnection) async throws {
        guard !commands.isEmpty else { return }
        var binds = PostgresBindings()
        binds.append(commands.map(\.account))
        binds.append(commands.map(\.idempotencyKey))
        binds.append(commands.map { ByteBuffer(bytes: $0.fingerprint) })
        binds.append(replies.map(\.status))
        binds.append(replies.map(\.contentType))
        binds.append(replies.map { ByteBuffer(bytes: $0.body) })
        binds.append(commands.map(\.epochSeconds))
        // No error is an empty code, made NULL again: an array of optionals would need its
        // own encoding.
        binds.append(replies.map { $0.error?.code.rawValue ?? "" })
        binds.append(replies.map { $0.error?.message ?? "" })
        try await connection.query(PostgresQuery(unsafeSQL: """
            INSERT INTO idempotency_records
            (account_id, idempotency_key, fingerprint, reply_status, reply_content_type, reply_body, created_at,
             reply_error_code, reply_error_message)
            SELECT a, k, f, s, t, b, c, NULLIF(e, ''), CASE WHEN e = '' THEN NULL ELSE m END
            FROM UNNEST($1::text[], $2::text[], $3::bytea[], $4::text[], $5::text[], $6::bytea[], $7::int8[], $8::text[], $9::text[])
                AS r(a, k, f, s, t, b, c, e, m)
            """, binds: binds), logger: logger)
    }

    private enum CounterRead {
        case none, read
        /// Takes the account's writer lock too, held to the end of the transaction: writers of
        /// one account (in any worker) then plan one after the other.
        case lockAndRead
    }

    private func fetch(
        _ request: DataRequest, account: String, counters: CounterRead, on connection: PostgresConnection
    ) async throws -> FetchedData {
        var data = FetchedData()
        // The lock first: what is read after it cannot change before this transaction ends.
        if counters == .lockAndRead {
            try await connection.query(
                "INSERT INTO account_counters (account_id) VALUES (\(account)) ON CONFLICT DO NOTHING", logger: logger)
        }
        if counters != .none {
            let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                SELECT next_payment_number, next_cancellation_number FROM account_counters WHERE account_id = $1
                \(counters == .lockAndRead ? "FOR UPDATE" : "")
                """, binds: bindings([.text(account)])), logger: logger)
            for try await (payment, cancellation) in rows.decode((Int64, Int64).self) {
                data.counters = AccountCounters(nextPaymentNumber: payment, nextCancellationNumber: cancellation)
            }
        }
        if !(request.paymentIds.isEmpty && request.paymentNumbers.isEmpty && request.paymentImportedRefs.isEmpty
             && request.paymentBackOfficeCodes.isEmpty) {
            var binds = PostgresBindings()
            binds.append(account)
            binds.append(Array(request.paymentIds))
            binds.append(Array(request.paymentNumbers))
            binds.append(Array(request.paymentImportedRefs))
            binds.append(Array(request.paymentBackOfficeCodes))
            data.found(try await fetchPayments(connection, """
                SELECT \(PaymentSQL.selectColumns) \(PaymentSQL.fromPayments) WHERE p.account_id = $1
                AND (p.id = ANY($2) OR p.number = ANY($3) OR p.imported_ref = ANY($4) OR p.back_office_code = ANY($5))
                """, binds))
        }
        if !(request.orderIds.isEmpty && request.orderRefs.isEmpty) {
            let rows = try await connection.query(
                "SELECT id, order_ref FROM orders WHERE account_id = \(account) AND (id = ANY(\(Array(request.orderIds))) OR order_ref = ANY(\(Array(request.orderRefs))))",
                logger: logger)
            for try await (id, ref) in rows.decode((Int64, String).self) { data.orders.append(Order(id: id, ref: ref)) }
        }
        if !request.cancellationBackOfficeCodes.isEmpty {
            let rows = try await connection.query(
                "SELECT back_office_code FROM payment_cancellations WHERE account_id = \(account) AND back_office_code = ANY(\(Array(request.cancellationBackOfficeCodes)))",
                logger: logger)
            for try await code in rows.decode(String.self) { data.cancellationBackOfficeCodesInUse.insert(code) }
        }
        if let query = request.query {
            let bound = PaymentSQL.select(account: account, query: query, dialect: .postgres)
            data.selected = try await fetchPayments(connection, bound.sql, bindings(bound.values))
        }
        return data
    }

    private func apply(_ changes: Changes, account: String, on connection: PostgresConnection) async throws -> InsertedIds {
        var ids = InsertedIds()
        if !changes.deletedPaymentIds.isEmpty {
            try await connection.query(
                "DELETE FROM payments WHERE account_id = \(account) AND id = ANY(\(changes.deletedPaymentIds))", logger: logger)
        }
        for (index, change) in changes.orders.enumerated() {
            switch change {
            case .insert(let ref):
                let rows = try await connection.query(
                    "INSERT INTO orders (account_id, order_ref) VALUES (\(account), \(ref)) RETURNING id", logger: logger)
                for try await id in rows.decode(Int64.self) { ids.orders[index] = id }
            case .rename(let order):
                try await connection.query(
                    "UPDATE orders SET order_ref = \(order.ref) WHERE account_id = \(account) AND id = \(order.id)", logger: logger)
            }
        }
        if !changes.paymentsReleasingKeys.isEmpty {
            try await connection.query(
                "UPDATE payments SET imported_ref = NULL, back_office_code = NULL WHERE account_id = \(account) AND id = ANY(\(changes.paymentsReleasingKeys))",
                logger: logger)
        }
        ids.payments = try await apply(changes.payments, account: account, on: connection)
        for cancellation in changes.cancellations {
            let details = cancellation.details
            let rows = try await connection.query("""
                INSERT INTO payment_cancellations (account_id, number, payment_id, amount, issued_on, posted_on,
                life_cycle_state, type_id, category_id, notes, back_office_code, issue_reason, udf)
                VALUES (\(account), \(cancellation.number), \(cancellation.paymentId), \(cancellation.amount.scaled),
                \(cancellation.issuedOn.cin7), \(cancellation.postedOn.cin7), \(cancellation.lifeCycleState.rawValue),
                \(details.typeId), \(details.categoryId), \(details.notes), \(details.backOfficeCode), \(details.issueReason),
                \(UDFValues(details).json)) RETURNING id
                """, logger: logger)
            for try await id in rows.decode(Int64.self) { ids.cancellations.append(id) }
        }
        if let next = changes.nextPaymentNumber {
            try await connection.query(
                "UPDATE account_counters SET next_payment_number = \(next) WHERE account_id = \(account)", logger: logger)
        }
        if let next = changes.nextCancellationNumber {
            try await connection.query(
                "UPDATE account_counters SET next_cancellation_number = \(next) WHERE account_id = \(account)", logger: logger)
        }
        return ids
    }

    /// Inserts the new payments in one statement and updates the others in another.
    private func apply(_ changes: [PaymentChange], account: String, on connection: PostgresConnection) async throws -> [Int: Int64] {
        var inserts = PostgresPaymentColumns()
        var updates = PostgresPaymentColumns()
        var insertIndexByNumber: [Int64: Int] = [:]
        for (index, change) in changes.enumerated() {
            switch change {
            case .insert(let payment):
                inserts.append(payment)
                insertIndexByNumber[payment.number] = index
            case .update(let payment):
                updates.append(payment)
            }
        }
        var insertedIds: [Int: Int64] = [:]
        if !inserts.isEmpty {
            var binds = PostgresBindings()
            binds.append(account)
            let source = inserts.unnest(into: &binds)
            let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                INSERT INTO payments (account_id, number, \(PostgresPaymentColumns.mutableColumnNames))
                SELECT $1, u.number, \(PostgresPaymentColumns.mutableValues) FROM \(source)
                RETURNING id, number
                """, binds: binds), logger: logger)
            // Numbers are unique per account, so they say which insert got which id.
            for try await (id, number) in rows.decode((Int64, Int64).self) {
                if let index = insertIndexByNumber[number] { insertedIds[index] = id }
            }
        }
        if !updates.isEmpty {
            var binds = PostgresBindings()
            binds.append(account)
            let source = updates.unnest(into: &binds)
            try await connection.query(PostgresQuery(unsafeSQL: """
                UPDATE payments p SET (\(PostgresPaymentColumns.mutableColumnNames)) = (\(PostgresPaymentColumns.mutableValues))
                FROM \(source) WHERE p.account_id = $1 AND p.id = u.id
                """, binds: binds), logger: logger)
        }
        return insertedIds
    }

    // MARK: - Reading rows

    private func bindings(_ values: [SQLValue]) -> PostgresBindings {
        var binds = PostgresBindings()
        for value in values {
            switch value {
            case .integer(let number): binds.append(number)
            case .text(let text): binds.append(text)
            case .null: binds.appendNull()
            }
        }
        return binds
    }

    private func fetchPayments(_ connection: PostgresConnection, _ sql: String, _ binds: PostgresBindings) async throws -> [Payment] {
        let rows = try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
        var payments: [Payment] = []
        for try await row in rows {
            let cells = row.makeRandomAccess()
            payments.append(try PaymentSQL.payment(
                integer: { try cells[$0].decode(Int64.self) },
                text: { try cells[$0].decode(String?.self) }))
        }
        return payments
    }

    private func fetchRecord(_ connection: PostgresConnection, account: String, key: String) async throws -> IdempotencyRecord? {
        let rows = try await connection.query("""
            SELECT fingerprint, reply_status, reply_content_type, reply_body, reply_error_code, reply_error_message, created_at
            FROM idempotency_records WHERE account_id = \(account) AND idempotency_key = \(key)
            """, logger: logger)
        for try await (fingerprint, status, contentType, body, code, message, createdAt)
            in rows.decode((Data, String, String, Data, String?, String?, Int64).self) {
            return IdempotencyRecord(
                key: key, fingerprint: Array(fingerprint),
                reply: StoredReply(status: status, contentType: contentType, body: Array(body), errorCode: code, errorMessage: message),
                createdAt: createdAt)
        }
        return nil
    }

    // MARK: - Errors

    private static func sqlState(_ error: any Error) -> String? {
        (underlying(error) as? PSQLError)?.serverInfo?[.sqlState]
    }

    /// `withTransaction` wraps what failed in a `PostgresTransactionError`: the fault is the
    /// one inside (read as a permanent failure, a server shutdown sent commands to the DLQ).
    private static func underlying(_ error: any Error) -> any Error {
        guard let transaction = error as? PostgresTransactionError else { return error }
        return transaction.closureError ?? transaction.commitError ?? transaction.beginError ?? transaction.rollbackError ?? error
    }

    /// A clash with a concurrent writer: running the transaction again resolves it.
    static func isConflict(_ error: any Error) -> Bool {
        ["23505", "40001", "40P01"].contains(sqlState(error) ?? "")
    }

    static func storeError(_ error: any Error) -> any Error {
        let error = underlying(error)
        if error is StoreError || error is DomainError { return error }
        // The pool's own error type lives in postgres-nio's underscored module, so it is told
        // by name: the pool could not open a connection for a while (its circuit breaker).
        if error is CancellationError || "\(type(of: error))" == "ConnectionPoolError" {
            return StoreError("PostgreSQL connection pool: \(error)", kind: .unavailable)
        }
        guard let postgres = error as? PSQLError else { return StoreError("PostgreSQL: \(error)", kind: .permanent) }
        if postgres.code == .server {
            let state = postgres.serverInfo?[.sqlState] ?? ""
            // Class 08 (connection), 53 (resources), 57 (operator intervention: admin
            // shutdown, cannot connect now) and 58 (system I/O): the server will be back.
            // The message names the fault; details, which quote values, are left out.
            let kind: StoreError.Kind = isConflict(error) ? .conflict
                : ["08", "53", "57", "58"].contains(String(state.prefix(2))) ? .unavailable : .permanent
            return StoreError("PostgreSQL \(state): \(postgres.serverInfo?[.message] ?? "")", kind: kind)
        }
        // Connection-level faults: refused, closed, timed out.
        return StoreError("PostgreSQL connection: \(postgres.code)", kind: .unavailable)
    }
}
