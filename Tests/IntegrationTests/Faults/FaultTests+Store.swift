import Foundation
import Kafka
import PaymentStores
import PaymentsDomain
import Testing

/// The fault suite (docs/contract.md §5): the store, the broker and the worker process taken away
/// mid-stream and given back. Each case counts the commands lost, applied twice, sent to the
/// DLQ and answered `error`, which must all be 0. One case at a time: each loads both cores.
@Suite("Faults", .serialized, .timeLimit(.minutes(6)))
struct FaultTests {}

/// The store taken away.
extension FaultTests {
    @Test("PostgreSQL stopped 20 s mid-stream, then started: not ready meanwhile, then every command answered once, none in the DLQ")
    func postgresRestart() async throws {
        try await OwnPostgres.withWorker(extraArguments: ["--store-timeout-seconds", "5"]) { harness, server in
            let port = try await OperationsTests.operationsPort(of: harness.worker)
            let total = 20_000
            _ = try await harness.producer.sendAll(WorkerHarness.paymentStream(count: total, prefix: "pg"))
            try await harness.results.received.wait(forCount: 2_000, "replies before the outage", timeout: .seconds(120))

            try await server.down()
            try await harness.worker.waitForStandardError(containing: "store unavailable", timeout: .seconds(30))
            let notReady = try await eventually("not ready") { () -> String? in
                let response = try await OperationsTests.get(port: port, path: "/health/ready")
                return response.status == 503 && response.body.contains("\"store\":\"failing\"") ? response.body : nil
            }
            #expect(notReady.contains("\"reasons\":{\"store\""), "readiness says why: \(notReady)")
            // The outage's length is the case itself.
            try await Task.sleep(for: .seconds(20))
            try await server.up()

            let counts = try await FaultCounts.collect(harness, prefix: "pg", total: total, timeout: .seconds(180))
            #expect(counts == FaultCounts(lost: 0, appliedTwice: 0, inDLQ: 0, errorReplies: 0))
            let log = harness.worker.standardError
            let opened = log.components(separatedBy: "store unavailable").count - 1
            #expect(opened >= 1 && opened == log.components(separatedBy: "store available again").count - 1,
                    "each outage logged once as it opened and once as it closed")
            _ = try await eventually("ready again") {
                try await OperationsTests.get(port: port, path: "/health/ready").status == 200 ? true : nil
            }
        }
    }

    @Test("SIGTERM while PostgreSQL is down with a batch in a store call ends within the shutdown timeout (exit 1, work left uncommitted); a new worker answers it all")
    func sigtermDuringPostgresOutage() async throws {
        try await OwnPostgres.withWorker(extraArguments: ["--store-timeout-seconds", "5", "--shutdown-timeout-seconds", "5"]) { harness, server in
            let total = 10_000
            let stream = WorkerHarness.paymentStream(count: total, prefix: "tp")
            _ = try await harness.producer.sendAll(Array(stream[..<1_000]))
            try await harness.results.received.wait(forCount: 1_000, "replies before the outage", timeout: .seconds(120))
            // A worker that has answered everything learns of the outage idle and has nothing to
            // abandon, which exits 0. Holding the account's writer lock makes sure a batch is
            // inside a store call when the server goes.
            try await server.holdAccountLock()
            _ = try await harness.producer.sendAll(Array(stream[1_000...]))
            try await server.waitForBlockedWriter()
            try await server.down()
            try await harness.worker.waitForStandardError(containing: "store unavailable", timeout: .seconds(30))
            let (status, took) = try await harness.worker.terminate()
            #expect(took < .seconds(20))
            #expect(status == 1, "abandoned at the timeout, never by a signal: \(status)")
            #expect(harness.worker.standardError.contains("abandoning batches in flight uncommitted"))
            try await server.up()
            let next = try await WorkerHarness.startWorker(bootstrap: harness.bootstrap, store: server.url)
            let counts = try await FaultCounts.collect(harness, prefix: "tp", total: total, timeout: .seconds(180))
            #expect(counts == FaultCounts(lost: 0, appliedTwice: 0, inDLQ: 0, errorReplies: 0))
            await WorkerHarness.stop(next)
        }
    }
}

extension FaultTests {
    /// A disk of the test's own for the SQLite file: a 64 MiB tmpfs, or an ext4 image of that
    /// size on a loop device (ext4 has the immutable flag, which stops even root's writes).
    /// Breaking it touches nothing else.
    enum OwnDisk {
        case tmpfs, ext4
    }

    /// A worker whose SQLite file is on `disk`, its half-stream answered, then `breakStore`
    /// run on the mount point and the other half sent: `body` runs once the worker has said
    /// the store is away, and gets the mount point to mend.
    private func withBrokenStore(
        on disk: OwnDisk, prefix: String, total: Int, extraArguments: [String] = [],
        breakStore: (String) async throws -> Void, _ body: (WorkerHarness, _ mount: String) async throws -> Void
    ) async throws {
        let mount = FileManager.default.temporaryDirectory.appendingPathComponent("own-disk-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        switch disk {
        case .tmpfs: try await Shell.run("mount -t tmpfs -o size=64m tmpfs '\(mount)'")
        case .ext4: try await Shell.run("truncate -s 64M '\(mount).img' && mkfs.ext4 -q '\(mount).img' && mount -o loop '\(mount).img' '\(mount)'")
        }
        let unmount = { try? await Shell.run("umount -l '\(mount)'; rm -f '\(mount).img'") }
        let harness: WorkerHarness
        do {
            harness = try await WorkerHarness.start(store: "sqlite:\(mount)/payments.sqlite", extraArguments: extraArguments)
        } catch {
            await unmount()
            throw error
        }
        do {
            let stream = WorkerHarness.paymentStream(count: total, prefix: prefix)
            // SQLite on a small local disk answers the first half in moments.
            _ = try await harness.producer.sendAll(Array(stream[..<(total / 2)]))
            try await harness.results.received.wait(forCount: total / 2, "replies before the store breaks", timeout: .seconds(120))
            try await breakStore(mount)
            _ = try await harness.producer.sendAll(Array(stream[(total / 2)...]))
            try await harness.worker.waitForStandardError(containing: "store unavailable", timeout: .seconds(60))
            try await body(harness, mount)
        } catch {
            await harness.stop()
            await unmount()
            throw error
        }
        await harness.stop()
        await unmount()
    }

    /// Fills the disk: dd stops, failing, when it is full, which is the point.
    private func fill(_ mount: String) async throws {
        try? await Shell.run("dd if=/dev/zero of='\(mount)/filler' bs=1M 2>/dev/null")
    }

    @Test("SQLite on a full disk mid-stream, then space freed: not ready meanwhile, then every command answered once, none in the DLQ")
    func sqliteDiskFull() async throws {
        try await withBrokenStore(on: .tmpfs, prefix: "df", total: 20_000, breakStore: fill) { harness, mount in
            let port = try await OperationsTests.operationsPort(of: harness.worker)
            let notReady = try await eventually("not ready") { () -> String? in
                let response = try await OperationsTests.get(port: port, path: "/health/ready")
                return response.status == 503 ? response.body : nil
            }
            #expect(notReady.contains("disk is full"), "readiness says why: \(notReady)")
            try FileManager.default.removeItem(atPath: "\(mount)/filler")
            let counts = try await FaultCounts.collect(harness, prefix: "df", total: 20_000, timeout: .seconds(180))
            #expect(counts == FaultCounts(lost: 0, appliedTwice: 0, inDLQ: 0, errorReplies: 0))
            #expect(harness.worker.isRunning)
        }
    }

    @Test("the SQLite file made read-only mid-stream (immutable on ext4), then writable: not ready meanwhile, then every command answered once")
    func sqliteReadOnly() async throws {
        try await withBrokenStore(on: .ext4, prefix: "ro", total: 10_000, breakStore: { mount in
            try await Shell.run("chattr +i '\(mount)/payments.sqlite' '\(mount)/payments.sqlite-wal'")
        }) { harness, mount in
            let port = try await OperationsTests.operationsPort(of: harness.worker)
            _ = try await eventually("not ready") {
                try await OperationsTests.get(port: port, path: "/health/ready").status == 503 ? true : nil
            }
            try await Shell.run("chattr -i '\(mount)/payments.sqlite' '\(mount)/payments.sqlite-wal'")
            let counts = try await FaultCounts.collect(harness, prefix: "ro", total: 10_000, timeout: .seconds(180))
            #expect(counts == FaultCounts(lost: 0, appliedTwice: 0, inDLQ: 0, errorReplies: 0))
            #expect(harness.worker.isRunning)
        }
    }

    @Test("SIGTERM during a store outage ends within the shutdown timeout (exit 1, work left uncommitted); a new worker answers it all")
    func sigtermDuringStoreOutage() async throws {
        try await withBrokenStore(on: .tmpfs, prefix: "ts", total: 10_000, extraArguments: ["--shutdown-timeout-seconds", "5"],
                                  breakStore: fill) { harness, mount in
            let (status, took) = try await harness.worker.terminate()
            #expect(took < .seconds(20))
            #expect(status == 1, "abandoned at the timeout, never by a signal: \(status)")
            try FileManager.default.removeItem(atPath: "\(mount)/filler")
            let next = try await WorkerHarness.startWorker(bootstrap: harness.bootstrap, store: harness.store)
            let counts = try await FaultCounts.collect(harness, prefix: "ts", total: 10_000, timeout: .seconds(180))
            #expect(counts == FaultCounts(lost: 0, appliedTwice: 0, inDLQ: 0, errorReplies: 0))
            await WorkerHarness.stop(next)
        }
    }
}

/// A shell command run through the C library's `system` on a thread of its own (see
/// `OwnPostgres.run` for why not Foundation's Process).
enum Shell {
    static func run(_ command: String) async throws {
        let status = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: system(command)) }
        }
        guard status == 0 else { throw TestSetupError("'\(command)' failed (\(status))") }
    }
}

/// What a fault case counts, once every command has been answered or the deadline passed.
struct FaultCounts: Equatable, CustomStringConvertible {
    var lost: Int
    var appliedTwice: Int
    var inDLQ: Int
    var errorReplies: Int

    var description: String { "lost \(lost), applied twice \(appliedTwice), DLQ \(inDLQ), error replies \(errorReplies)" }

    /// Waits for a reply to each of the `total` commands of `WorkerHarness.paymentStream(prefix:)`,
    /// then reads the store's payments through the worker.
    static func collect(
        _ harness: WorkerHarness, prefix: String, total: Int, timeout: Duration
    ) async throws -> FaultCounts {
        // Polled, not checked on every reply: 20 000 replies made that quadratic.
        let answered = { () -> Set<String> in
            Set(harness.results.received.items.compactMap { $0.headers.string(named: "correlation-id") }.filter { $0.hasPrefix("\(prefix)-") })
        }
        let replies: [KafkaConsumerMessage]
        do {
            replies = try await eventually("a reply to every command", timeout: timeout) { () -> [KafkaConsumerMessage]? in
                if answered().count == total { return harness.results.received.items }
                try await Task.sleep(for: .milliseconds(400))
                return nil
            }
        } catch {
            // What a failure needs to be understood: how many, which, and what the worker said.
            let seen = answered()
            let missing = (0..<total).map { "\(prefix)-\($0)" }.filter { !seen.contains($0) }
            Issue.record("\(missing.count) unanswered, the first \(missing.prefix(5)); the worker's last log: \(harness.worker.standardError.suffix(4_000))")
            throw error
        }
        let errorReplies = replies.filter { $0.headers.string(named: "correlation-id")?.hasPrefix("\(prefix)-") == true && $0.status == "error" }
        // After an outage the worker may still be answering redelivered commands (from their
        // records) on this query's partition: the query waits behind them.
        let reply: KafkaConsumerMessage
        do {
            reply = try await harness.send(
                "GetPayments", "fields=PaymentImportedRef&where=PaymentImportedRef%20LIKE%20'\(prefix.uppercased())-%25'", timeout: .seconds(180))
        } catch {
            Issue.record("no reply to the query that counts the payments; the worker's last log: \(harness.worker.standardError.suffix(4_000))")
            throw error
        }
        let refs = reply.body.split(separator: "\n").dropFirst().map(String.init)
        return FaultCounts(
            lost: total - Set(refs).count, appliedTwice: refs.count - Set(refs).count,
            inDLQ: harness.dlq.received.items.count, errorReplies: errorReplies.count)
    }
}

/// A PostgreSQL server of the test's own (`ops/postgres.sh`), so that it can be stopped and
/// started without touching the one other tests share.
struct OwnPostgres {
    let folder: String
    let url: String

    static let script = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("ops/postgres.sh").path

    static func start() async throws -> OwnPostgres {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("fault-pg-\(UUID().uuidString)").path
        let output = try await run(["start", folder])
        guard let url = output.split(separator: "\n").last.map(String.init), url.hasPrefix("postgres://") else {
            throw TestSetupError("ops/postgres.sh start printed no URL: \(output)")
        }
        return OwnPostgres(folder: folder, url: url)
    }

    /// Runs `body` with a worker on a server of its own, and stops both however it ends.
    static func withWorker(extraArguments: [String], _ body: (WorkerHarness, OwnPostgres) async throws -> Void) async throws {
        let server = try await start()
        do {
            try await WorkerHarness.with(store: server.url, extraArguments: extraArguments) { try await body($0, server) }
        } catch {
            await server.stop()
            throw error
        }
        await server.stop()
    }

    func down() async throws { _ = try await Self.run(["down", folder]) }

    /// Takes every account's writer lock in a session of its own that holds it until the
    /// server stops (`down` ends every session).
    func holdAccountLock() async throws {
        try await Shell.run("""
            psql '\(url)' -q -c 'BEGIN' -c 'SELECT 1 FROM account_counters FOR UPDATE' -c 'SELECT pg_sleep(600)' >/dev/null 2>&1 &
            """)
        try await eventually("the account lock taken") {
            try await Shell.run("psql '\(url)' -tAc \"SELECT 1 FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep%' AND state = 'active'\" | grep -q 1")
        }
    }

    /// Returns once a session of the worker waits for a lock.
    func waitForBlockedWriter() async throws {
        try await eventually("a writer waiting for the account lock") {
            try await Shell.run("psql '\(url)' -tAc \"SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'\" | grep -q 1")
        }
    }
    func up() async throws { _ = try await Self.run(["up", folder]) }
    func stop() async { _ = try? await Self.run(["stop", folder]) }

    /// Runs the script through the C library's `system` on a thread of its own: Foundation's
    /// Process left its bash unreaped here once the script had started a server.
    @discardableResult
    private static func run(_ arguments: [String]) async throws -> String {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("postgres-sh-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let command = "bash " + ([script] + arguments + [">", output, "2>&1"]).map { $0 == ">" || $0 == "2>&1" ? $0 : "'\($0)'" }
            .joined(separator: " ")
        let status = await withCheckedContinuation { continuation in
            DispatchQueue.global().async { continuation.resume(returning: system(command)) }
        }
        let text = (try? String(contentsOfFile: output, encoding: .utf8)) ?? ""
        guard status == 0 else { throw TestSetupError("ops/postgres.sh \(arguments[0]) failed (\(status)): \(text)") }
        return text
    }
}
