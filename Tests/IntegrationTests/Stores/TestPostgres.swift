import Foundation
import Logging
import PostgresNIO
import Testing

/// The PostgreSQL server `ops/test.sh` starts on loopback. These tests never skip: without
/// the server they fail and say how to start it.
enum TestPostgres {
    static var adminURL: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["PAYMENT_WORKER_TEST_POSTGRES_URL"] else {
                throw TestSetupError(
                    "PAYMENT_WORKER_TEST_POSTGRES_URL is not set: run the tests with ops/test.sh, or export the URL ops/postgres.sh start prints")
            }
            return url
        }
    }

    /// A new, empty database; its URL and name.
    static func createDatabase() async throws -> (url: String, name: String) {
        let name = "test_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased()
        try await admin { try await $0.query(PostgresQuery(unsafeSQL: "CREATE DATABASE \(name)"), logger: logger) }
        let admin = try adminURL
        guard var components = URLComponents(string: admin) else { throw TestSetupError("bad URL \(admin)") }
        components.path = "/" + name
        return (components.string ?? admin, name)
    }

    static func dropDatabase(_ name: String) async {
        try? await admin { try await $0.query(PostgresQuery(unsafeSQL: "DROP DATABASE IF EXISTS \(name) WITH (FORCE)"), logger: logger) }
    }

    /// When `table` of database `name` was last analyzed by an `ANALYZE` statement (not by
    /// autovacuum), if ever.
    static func lastAnalyzed(_ table: String, in name: String) async throws -> Date? {
        var analyzed: Date?
        try await admin(database: name) { connection in
            let rows = try await connection.query(
                "SELECT last_analyze FROM pg_stat_user_tables WHERE relname = \(table)", logger: logger)
            for try await value in rows.decode(Date?.self) { analyzed = value }
        }
        return analyzed
    }

    /// Runs `statements` in database `name`, one at a time.
    static func execute(_ statements: [String], in name: String) async throws {
        try await admin(database: name) { connection in
            for statement in statements { try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger) }
        }
    }

    private static let logger = Logger(label: "test.postgres")

    private static func admin(database: String = "postgres", _ body: (PostgresConnection) async throws -> Void) async throws {
        guard let components = URLComponents(string: try adminURL) else { throw TestSetupError("bad URL") }
        let configuration = PostgresConnection.Configuration(
            host: components.host ?? "127.0.0.1", port: components.port ?? 5432, username: components.user ?? "postgres",
            password: components.password, database: database, tls: .disable)
        let connection = try await PostgresConnection.connect(configuration: configuration, id: 1, logger: logger)
        do {
            try await body(connection)
        } catch {
            try? await connection.close()
            throw error
        }
        try await connection.close()
    }
}

struct TestSetupError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
