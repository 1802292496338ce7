import Foundation
import Kafka
import Testing

/// The broker and the worker process taken away mid-stream (docs/contract.md §5).
extension FaultTests {
    /// Sends `total` single-line commands, lets 2 000 be answered, runs `fault`, then counts.
    private func stream(
        prefix: String, total: Int = 20_000, in harness: WorkerHarness, timeout: Duration = .seconds(240),
        fault: () async throws -> Void
    ) async throws -> FaultCounts {
        _ = try await harness.producer.sendAll(WorkerHarness.paymentStream(count: total, prefix: prefix))
        try await harness.results.received.wait(forCount: 2_000, "replies before the fault", timeout: .seconds(120))
        try await fault()
        return try await FaultCounts.collect(harness, prefix: prefix, total: total, timeout: timeout)
    }

    @Test("every broker down 20 s mid-stream, then up: the worker stays up, every command answered once, none in the DLQ")
    func brokerOutage() async throws {
        try await WorkerHarness.with { harness in
            let counts = try await stream(prefix: "bk", in: harness) {
                harness.broker.signal(SIGUSR1)
                try await harness.broker.waitForStandardError(containing: "every broker down")
                // The outage's length is the case itself.
                try await Task.sleep(for: .seconds(20))
                harness.broker.signal(SIGUSR2)
            }
            #expect(counts == FaultCounts(lost: 0, appliedTwice: 0, inDLQ: 0, errorReplies: 0))
            #expect(harness.worker.isRunning, "the worker never exits because the broker is away")
        }
    }

    @Test("the worker killed with SIGKILL 5 times in one stream and restarted each time: nothing lost, nothing applied twice")
    func killedFiveTimes() async throws {
        try await WorkerHarness.with { harness in
            let total = 30_000
            _ = try await harness.producer.sendAll(WorkerHarness.paymentStream(count: total, prefix: "kill"))
            var worker = harness.worker
            var replacements: [ChildProcess] = []
            do {
                for round in 1...5 {
                    try await harness.results.received.wait(forCount: round * 3_000, "replies before kill \(round)", timeout: .seconds(180))
                    worker.signal(SIGKILL)
                    _ = try await worker.waitForExit(timeout: .seconds(10))
                    worker = try await WorkerHarness.startWorker(bootstrap: harness.bootstrap, store: harness.store, group: "payment-worker")
                    replacements.append(worker)
                }
                let counts = try await FaultCounts.collect(harness, prefix: "kill", total: total, timeout: .seconds(240))
                #expect(counts == FaultCounts(lost: 0, appliedTwice: 0, inDLQ: 0, errorReplies: 0))
            } catch {
                for replacement in replacements { replacement.kill9IfRunning() }
                throw error
            }
            for replacement in replacements { await WorkerHarness.stop(replacement) }
        }
    }

    @Test("SIGTERM during a broker outage with replies unacknowledged ends within the shutdown timeout, exit 1, no abort")
    func sigtermDuringBrokerOutage() async throws {
        try await WorkerHarness.with(extraArguments: ["--shutdown-timeout-seconds", "5"]) { harness in
            _ = try await harness.producer.sendAll(WorkerHarness.paymentStream(count: 20_000, prefix: "tb"))
            try await harness.results.received.wait(forCount: 1_000, "replies before the outage", timeout: .seconds(120))
            harness.broker.signal(SIGUSR1)
            try await harness.broker.waitForStandardError(containing: "every broker down")
            let (status, took) = try await harness.worker.terminate()
            #expect(took < .seconds(20), "the 5 s timeout, the producer's last second and the consumer's close")
            #expect(status == 0 || status == 1, "a drain or a timeout, never a signal: \(status)")
            harness.broker.signal(SIGUSR2)
        }
    }

    @Test("SIGTERM in the middle of a rebalance ends within the shutdown timeout, and the other member answers every command once")
    func sigtermDuringRebalance() async throws {
        // Two workers share a store: PostgreSQL (one process at a time opens a SQLite file).
        try await WorkerHarness.withPostgres(extraArguments: ["--shutdown-timeout-seconds", "5"]) { harness, databaseURL, others in
            let total = 10_000
            _ = try await harness.producer.sendAll(WorkerHarness.paymentStream(count: total, prefix: "rb"))
            try await harness.results.received.wait(forCount: 1_000, "replies before the rebalance", timeout: .seconds(120))
            let other = others.add(try ChildProcess(TestBinaries.paymentWorker, [
                "run", "--bootstrap-servers", harness.bootstrap, "--dev", "--store", databaseURL, "--http-port", "0",
                "--kafka-property", "session.timeout.ms=6000", "--kafka-property", "heartbeat.interval.ms=100",
            ]))
            // The first member is giving partitions up, with batches in flight, when asked to stop.
            try await harness.worker.waitForStandardError(containing: "partitions revoked", timeout: .seconds(60))
            let (status, took) = try await harness.worker.terminate()
            #expect(took < .seconds(20), "the 5 s timeout and the leaving")
            #expect(status == 0 || status == 1, "a drain or a timeout, never a signal: \(status)")
            let counts: FaultCounts
            do {
                counts = try await FaultCounts.collect(harness, prefix: "rb", total: total, timeout: .seconds(240))
            } catch {
                // The member left answering: what it was given and what it said.
                Issue.record("the other member's last log: \(other.standardError.suffix(4_000))")
                throw error
            }
            #expect(counts == FaultCounts(lost: 0, appliedTwice: 0, inDLQ: 0, errorReplies: 0))
        }
    }

    @Test("SIGTERM while the first join waits out a dead member ends in time, never by an abort")
    func sigtermBeforeFirstAssignment() async throws {
        try await WorkerHarness.with(extraArguments: ["--kafka-property", "session.timeout.ms=25000"]) { harness in
            // The harness's member, killed, stays in the group for its 25 s session; a new
            // member's first join waits for that, longer than the 10 s a close lets a join finish.
            harness.worker.signal(SIGKILL)
            _ = try await harness.worker.waitForExit(timeout: .seconds(10))
            let late = try ChildProcess(TestBinaries.paymentWorker, [
                "run", "--bootstrap-servers", harness.bootstrap, "--dev", "--store", harness.store, "--http-port", "0",
                "--kafka-property", "session.timeout.ms=6000", "--kafka-property", "heartbeat.interval.ms=100",
            ])
            try await late.waitForStandardError(containing: "worker started")
            let (status, took) = try await late.terminate(waitingAtMost: .seconds(40))
            #expect(status == 0 || status == 1, "\(status): \(late.standardError.suffix(2_000))")
            #expect(took < .seconds(20), "the 10 s a join is let finish, and the leaving")
            #expect(late.standardError.contains("left the group unclosed"), "the join was still waiting: \(late.standardError.suffix(1_000))")
        }
    }
}

extension ChildProcess {
    /// Sends SIGTERM and waits for the exit: its status, and how long it took from the signal.
    func terminate(waitingAtMost timeout: Duration = .seconds(30)) async throws -> (status: Int32, took: Duration) {
        let clock = ContinuousClock()
        let asked = clock.now
        signal(SIGTERM)
        let status = try await waitForExit(timeout: timeout)
        return (status, clock.now - asked)
    }
}
