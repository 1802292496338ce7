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
        return migrator
    }
}
