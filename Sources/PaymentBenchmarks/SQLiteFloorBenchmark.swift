import ArgumentParser
import Foundation
import GRDB
import PaymentStores
import PaymentsDomain

/// What SQLite itself takes to write the rows the worker's two benchmark workloads must write,
/// in a file made by the SQLite store (its schema, its pragmas), with every value generated
/// inside SQLite by a recursive CTE: no parsing, no planning, no binding, no Swift per row.
/// No worker on one SQLite writer can go faster than this on the same machine.
struct SQLiteFloorBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sqlite-floor", abstract: "SQLite's own time for the rows of the worker's bulk and single-line runs.")

    @Option(help: "Rounds of each workload on fresh files; medians are reported.")
    var rounds = 3

    @Option(help: "Where the SQLite files go (default: the temporary folder).")
    var folder: String?

    /// One workload: `transactions` transactions of `commands` commands of `lines` lines, each
    /// command with its idempotency record and a reply of `replyBytes`.
    struct Shape {
        let name: String
        let transactions: Int
        let commands: Int
        let lines: Int
        let replyBytes: Int
        var totalLines: Int { transactions * commands * lines }
        var totalCommands: Int { transactions * commands }

        /// One line of a floor benchmark: the median of `times` as rates and costs.
        func report(_ tool: String, _ label: String, times: [Double]) {
            let seconds = median(times)
            print(String(format: "%@ %@, %@: %.0f lines/s, %.0f commands/s, %.1f us a command, %.2f us a line (median of %d)",
                         tool, name, label, Double(totalLines) / seconds, Double(totalCommands) / seconds,
                         1e6 * seconds / Double(totalCommands), 1e6 * seconds / Double(totalLines), times.count))
        }
    }

    static let bulk = Shape(name: "bulk", transactions: 200, commands: 1, lines: 1_000, replyBytes: 45_000)
    static let single = Shape(name: "single", transactions: 500, commands: 200, lines: 1, replyBytes: 70)

    func validate() throws {
        guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
    }

    func run() async throws {
        let base = folder.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
        let folder = base.appendingPathComponent("payment-bench-floor-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        print("sqlite-floor: files in \(base.path)")
        for shape in [Self.bulk, Self.single] {
            var insertOnly: [Double] = []
            var withLookups: [Double] = []
            for round in 0..<rounds {
                for lookups in [false, true] {
                    let path = folder.appendingPathComponent("\(shape.name)-\(round)-\(lookups).sqlite").path
                    let seconds = try await Self.write(shape, lookups: lookups, path: path)
                    if lookups { withLookups.append(seconds) } else { insertOnly.append(seconds) }
                }
            }
            for (label, times) in [("inserts only", insertOnly), ("inserts and the worker's two lookups", withLookups)] {
                shape.report("sqlite-floor", label, times: times)
            }
        }
    }

    /// Seconds to write `shape` into a fresh store file.
    static func write(_ shape: Shape, lookups: Bool, path: String) async throws -> Double {
        let store = try SQLitePaymentStore(path: path)
        try await store.provision(order: Order(id: 12345, ref: "Ref123"), account: "123")
        try await store.close()
        let pool = try poolWithStoreDurability(path: path)
        defer { try? pool.close() }
        let clock = ContinuousClock()
        let elapsed = try await clock.measure {
            for transaction in 0..<shape.transactions {
                let sql = statements(shape, transaction: transaction, lookups: lookups)
                try await pool.write { db in try db.execute(sql: sql) }
            }
        }
        let written = try await pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM payments") ?? 0 }
        guard written == shape.totalLines else {
            throw ValidationError("\(shape.name): \(written) payments written, \(shape.totalLines) expected")
        }
        return elapsed.seconds
    }

    /// One transaction's SQL: payment x of the workload is line x % lines of command x / lines.
    static func statements(_ shape: Shape, transaction: Int, lookups: Bool) -> String {
        // c(x): `count` numbers from `first`, the rows of one statement.
        func series(from first: Int, count: Int) -> String {
            "WITH RECURSIVE c(x) AS (SELECT \(first) UNION ALL SELECT x + 1 FROM c WHERE x < \(first + count - 1))"
        }
        let perTransaction = shape.commands * shape.lines
        let lines = series(from: transaction * perTransaction, count: perTransaction)
        let commands = series(from: transaction * shape.commands, count: shape.commands)
        let ref = "'floor-\(shape.name)-C' || (x / \(shape.lines)) || '-L' || (x % \(shape.lines))"
        let key = "'payments.commands/' || (x % 4) || '/' || (x / 4)"
        var sql = ""
        if lookups {
            // The worker looks up every key and every PaymentImportedRef before it writes.
            sql += """
                \(commands) SELECT count(*) FROM c JOIN idempotency_records r ON r.account_id = '123' AND r.idempotency_key = \(key);
                \(lines) SELECT count(*) FROM c JOIN payments p ON p.account_id = '123' AND p.imported_ref = \(ref);
                """
        }
        sql += """
            \(lines) INSERT INTO payments (account_id, number, imported_ref, order_id, created_date, active, method, direction,
                amount, payment_date, transaction_authorized, transaction_ref, comments, back_office_code, life_cycle_state)
            SELECT '123', x + 1, \(ref), 12345, '2026-12-01 10:00:00', 1, NULL, 1, (x % 997) * 10000 + 2500, NULL, 0, NULL,
                NULL, NULL, 'POSTED' FROM c;
            \(commands) INSERT INTO idempotency_records (account_id, idempotency_key, fingerprint, reply_status,
                reply_content_type, reply_body, created_at)
            SELECT '123', \(key), randomblob(32), 'ok', 'text/csv', zeroblob(\(shape.replyBytes)), 1796000000 FROM c;
            UPDATE account_counters SET next_payment_number = next_payment_number + \(perTransaction)
                WHERE account_id = '123';
            """
        return sql
    }
}
