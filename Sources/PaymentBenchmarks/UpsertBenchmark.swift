import ArgumentParser
import Foundation
import GRDB
import PaymentStores
import PaymentsDomain
import UpdatePaymentsPlugin

/// Bulk UpdatePayments through a store (CSV text to stored rows, idempotency record and
/// reply included) against a bare GRDB loop of prepared upserts in one transaction per batch.
struct UpsertBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "upsert", abstract: "Bulk upsert: stores against a bare GRDB loop.")

    @Option(help: "Batches (commands) per run.")
    var batches = 100

    @Option(help: "Lines per batch.")
    var lines = 1_000

    @Option(help: "A postgres:// URL to measure the PostgreSQL store too.")
    var postgres: String?

    @Option(help: "Rounds, each measuring both SQLite paths on fresh files; medians are reported.")
    var rounds = 5

    @Option(help: "Where the SQLite files go (default: the temporary folder).")
    var folder: String?

    @Option(help: "Commands handed to the store at once, as the worker batches a partition's (200 at most); 1 by default.")
    var commandsPerTransaction = 1

    func validate() throws {
        guard commandsPerTransaction >= 1 else { throw ValidationError("--commands-per-transaction must be at least 1") }
    }

    func run() async throws {
        let base = folder.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
        let folder = base.appendingPathComponent("payment-bench-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let texts = (0..<batches).map { Array(Workload.csv(lines: lines, batch: $0).utf8) }
        print("upsert: \(batches) batches of \(lines) lines, SQLite files in \(base.path)")

        // Interleaved rounds on fresh files: the disk's noise hits both paths alike.
        var bareRates: [Double] = []
        var storeRates: [Double] = []
        var ratios: [Double] = []
        for round in 0..<rounds {
            let store = try SQLitePaymentStore(path: folder.appendingPathComponent("store-\(round).sqlite").path)
            let sqlite = try await throughStore(store, name: "  SQLite store (parse to stored)", texts: texts)
            try await store.close()
            storeRates.append(sqlite.perSecond)
            // The bare loop writes a batch a transaction: a floor for bulk batches only.
            guard commandsPerTransaction == 1 else { continue }
            let bare = try await bareGRDB(texts: texts, path: folder.appendingPathComponent("bare-\(round).sqlite").path)
            bareRates.append(bare.perSecond)
            ratios.append(sqlite.perSecond / bare.perSecond)
        }
        if commandsPerTransaction == 1 {
            print(String(format: "upsert result (median of %d rounds): SQLite store %.0f lines/s, bare GRDB loop %.0f rows/s, ratio %.0f%% (per-round ratios %@)",
                         rounds, median(storeRates), median(bareRates), 100 * median(ratios),
                         ratios.map { String(format: "%.0f%%", 100 * $0) }.joined(separator: " ")))
        } else {
            print(String(format: "upsert result (median of %d rounds): SQLite store %.0f commands/s, %d commands a transaction",
                         rounds, median(storeRates) / Double(lines), commandsPerTransaction))
        }
        if let postgres {
            let store = try await PostgresPaymentStore(url: postgres)
            let result = try await throughStore(store, name: "  PostgreSQL store (parse to stored)", texts: texts)
            try await store.close()
            print(String(format: "upsert result: PostgreSQL store %.0f lines/s", result.perSecond))
        }
        if let peak = peakMemoryMiB() { print(String(format: "peak memory: %.0f MiB", peak)) }
    }

    private func throughStore(_ store: any PaymentStore, name: String, texts: [[UInt8]]) async throws -> Measurement {
        try await store.provision(order: Order(id: 12345, ref: "Ref123"), account: "123")
        let now = try UTCDateTime(parsing: "2026-11-22 10:00:00")
        let plugin = UpdatePaymentsPlugin()
        func command(_ index: Int) throws -> StoreCommand {
            StoreCommand(
                account: "123", idempotencyKey: "bench-\(Workload.runTag)-\(name.hashValue)-\(index)",
                fingerprint: Array(repeating: UInt8(index % 256), count: 32),
                write: UpdatePaymentsWrite(lines: try PaymentLineDecoder.decode(try CSVReader.read(texts[index])), reply: plugin.reply),
                now: now, epochSeconds: 1_795_000_000, errorFormat: type(of: plugin).errorReplyFormat)
        }
        if commandsPerTransaction == 1 {
            // Bulk: parsing each batch is part of the figure, as it always was.
            return try await measure(name, units: texts.count * lines, unit: "lines") {
                for index in texts.indices {
                    guard case .applied = try await store.execute([try command(index)])[0] else { throw ValidationError("batch \(index) not applied") }
                }
            }
        }
        // Single-line commands as the worker hands them over, many a transaction: the store alone.
        let commands = try texts.indices.map(command)
        return try await measure(name, units: texts.count * lines, unit: "lines") {
            for start in stride(from: 0, to: commands.count, by: commandsPerTransaction) {
                let outcomes = try await store.execute(Array(commands[start..<min(start + commandsPerTransaction, commands.count)]))
                guard outcomes.allSatisfy({ if case .applied = $0 { true } else { false } }) else {
                    throw ValidationError("a command from \(start) on was not applied")
                }
            }
        }
    }

    /// The floor: values already parsed, one prepared upsert a row, one transaction a batch.
    private func bareGRDB(texts: [[UInt8]], path: String) async throws -> Measurement {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let pool = try poolWithStoreDurability(path: path)
        try await pool.write { db in
            try db.execute(sql: """
                CREATE TABLE payments (id INTEGER PRIMARY KEY AUTOINCREMENT, account_id TEXT NOT NULL, number INTEGER NOT NULL,
                imported_ref TEXT, order_id INTEGER NOT NULL, created_date TEXT NOT NULL, active INTEGER NOT NULL, method TEXT,
                direction INTEGER NOT NULL, amount INTEGER NOT NULL, payment_date TEXT, transaction_authorized INTEGER NOT NULL,
                transaction_ref TEXT, comments TEXT, back_office_code TEXT, life_cycle_state TEXT NOT NULL,
                UNIQUE (account_id, imported_ref), UNIQUE (account_id, back_office_code), UNIQUE (account_id, number))
                """)
        }
        let rows: [[[String]]] = try texts.map { try CSVReader.read($0).records.map(\.fields) }
        let lines = self.lines
        return try await measure("  bare GRDB loop (prepared upserts)", units: texts.count * lines, unit: "rows") {
            var number: Int64 = 0
            for batch in rows {
                let firstNumber = number
                try await pool.write { db in
                    let statement = try db.cachedStatement(sql: """
                        INSERT INTO payments (account_id, number, imported_ref, order_id, created_date, active, method, direction,
                        amount, payment_date, transaction_authorized, transaction_ref, comments, back_office_code, life_cycle_state)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                        ON CONFLICT (account_id, imported_ref) DO UPDATE SET amount = excluded.amount, comments = excluded.comments
                        """)
                    for (offset, row) in batch.enumerated() {
                        try statement.execute(arguments: [
                            "123", firstNumber + Int64(offset), row[1], 12345, "2026-11-22 10:00:00", 1, row[3], 1,
                            Int64(offset) * 100, "2013-09-16 01:00:00", 1, row[8], row[9], nil, "POSTED",
                        ])
                    }
                }
                number += Int64(batch.count)
            }
        }
    }
}
