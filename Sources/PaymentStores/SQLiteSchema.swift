import GRDB

/// The SQLite schema, created and migrated when the store opens.
enum SQLiteSchema {
    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1") { db in
            try db.execute(sql: """
                CREATE TABLE account_counters (
                    account_id TEXT PRIMARY KEY,
                    next_payment_number INTEGER NOT NULL DEFAULT 1,
                    next_cancellation_number INTEGER NOT NULL DEFAULT 1
                );
                CREATE TABLE orders (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    account_id TEXT NOT NULL,
                    order_ref TEXT NOT NULL,
                    UNIQUE (account_id, order_ref)
                );
                CREATE TABLE payments (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    account_id TEXT NOT NULL,
                    number INTEGER NOT NULL,
                    imported_ref TEXT,
                    order_id INTEGER NOT NULL REFERENCES orders(id),
                    created_date TEXT NOT NULL,
                    active INTEGER NOT NULL,
                    method TEXT,
                    direction INTEGER NOT NULL,
                    amount INTEGER NOT NULL,
                    payment_date TEXT,
                    transaction_authorized INTEGER NOT NULL,
                    transaction_ref TEXT,
                    comments TEXT,
                    back_office_code TEXT,
                    life_cycle_state TEXT NOT NULL,
                    UNIQUE (account_id, imported_ref),
                    UNIQUE (account_id, back_office_code),
                    UNIQUE (account_id, number)
                );
                CREATE INDEX payments_by_order ON payments(order_id);
                CREATE TABLE payment_cancellations (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    account_id TEXT NOT NULL,
                    number INTEGER NOT NULL,
                    payment_id INTEGER NOT NULL REFERENCES payments(id) ON DELETE CASCADE,
                    amount INTEGER NOT NULL,
                    issued_on TEXT NOT NULL,
                    posted_on TEXT NOT NULL,
                    life_cycle_state TEXT NOT NULL,
                    type_id TEXT NOT NULL,
                    category_id TEXT,
                    notes TEXT,
                    back_office_code TEXT,
                    issue_reason TEXT,
                    udf TEXT NOT NULL,
                    UNIQUE (account_id, back_office_code),
                    UNIQUE (account_id, number)
                );
                CREATE INDEX cancellations_by_payment ON payment_cancellations(payment_id);
                CREATE TABLE idempotency_records (
                    account_id TEXT NOT NULL,
                    idempotency_key TEXT NOT NULL,
                    fingerprint BLOB NOT NULL,
                    reply_status TEXT NOT NULL,
                    reply_content_type TEXT NOT NULL,
                    reply_body BLOB NOT NULL,
                    created_at INTEGER NOT NULL,
                    PRIMARY KEY (account_id, idempotency_key)
                );
                CREATE INDEX idempotency_by_age ON idempotency_records(created_at);
                -- Payment ids start where the seed's do (1001).
                INSERT INTO sqlite_sequence (name, seq) VALUES ('payments', 1000);
                """)
        }
        // Fewer index writes a command (the floor a single-line command: 13.3 -> 11.7 us):
        // BackOfficeCode, which most payments lack, is unique through a partial index rather
        // than an index entry for every NULL; records are purged in the order they were
        // written (`purgeIdempotencyRecords`) rather than through an index by age.
        migrator.registerMigration("v2") { db in
            let sequence = try Int64.fetchOne(db, sql: """
                SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'payments'), 0),
                           COALESCE((SELECT MAX(id) FROM payments), 0))
                """) ?? 0
            // A table constraint cannot be dropped: the table is rebuilt (foreign keys are off
            // while a migration runs, so the cancellations stay).
            try db.execute(sql: """
                CREATE TABLE payments_v2 (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    account_id TEXT NOT NULL,
                    number INTEGER NOT NULL,
                    imported_ref TEXT,
                    order_id INTEGER NOT NULL REFERENCES orders(id),
                    created_date TEXT NOT NULL,
                    active INTEGER NOT NULL,
                    method TEXT,
                    direction INTEGER NOT NULL,
                    amount INTEGER NOT NULL,
                    payment_date TEXT,
                    transaction_authorized INTEGER NOT NULL,
                    transaction_ref TEXT,
                    comments TEXT,
                    back_office_code TEXT,
                    life_cycle_state TEXT NOT NULL,
                    UNIQUE (account_id, imported_ref),
                    UNIQUE (account_id, number)
                );
                INSERT INTO payments_v2 SELECT * FROM payments;
                DROP TABLE payments;
                ALTER TABLE payments_v2 RENAME TO payments;
                CREATE UNIQUE INDEX payments_by_back_office_code ON payments(account_id, back_office_code)
                    WHERE back_office_code IS NOT NULL;
                CREATE INDEX payments_by_order ON payments(order_id);
                DROP INDEX idempotency_by_age;
                DELETE FROM sqlite_sequence WHERE name IN ('payments', 'payments_v2');
                """)
            // A deleted payment's id is still never given again.
            try db.execute(sql: "INSERT INTO sqlite_sequence (name, seq) VALUES ('payments', ?)", arguments: [sequence])
        }
        // An error reply's code and message are kept as fields, for the `error-code` header
        // and the error event; the replies recorded before are read once, here.
        migrator.registerMigration("v3") { db in
            try db.execute(sql: """
                ALTER TABLE idempotency_records ADD COLUMN reply_error_code TEXT;
                ALTER TABLE idempotency_records ADD COLUMN reply_error_message TEXT;
                UPDATE idempotency_records SET
                    reply_error_code = COALESCE(json_extract(CAST(reply_body AS TEXT), '$.status.code'),
                                                json_extract(CAST(reply_body AS TEXT), '$.code'), 'INTERNAL'),
                    reply_error_message = COALESCE(json_extract(CAST(reply_body AS TEXT), '$.status.message'),
                                                   json_extract(CAST(reply_body AS TEXT), '$.message'), '')
                WHERE reply_status = 'error' AND json_valid(CAST(reply_body AS TEXT));
                """)
        }
        return migrator
    }
}
