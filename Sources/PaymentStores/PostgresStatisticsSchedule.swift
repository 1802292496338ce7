/// When the PostgreSQL store refreshes the planner's statistics itself.
///
/// A database that starts empty has none until autovacuum's next round, and without them
/// the planner takes the `imported_ref = ANY($1)` and idempotency-key lookups for sequential
/// scans: on a fresh database single-line throughput fell from 7 400 to 3 200 commands/s
/// over 200 000 commands, and held at 10 700 to 12 500 once analyzed (README, Benchmarks).
/// So the store runs `ANALYZE` once this process has written `firstAfter` rows, then each
/// time that count doubles: a few runs over a process's life, one at a time.
struct PostgresStatisticsSchedule {
    private(set) var written = 0
    private var nextAt: Int
    private var running = false

    init(firstAfter: Int) {
        nextAt = max(firstAfter, 1)
    }

    /// Counts `rows` written; true when an `ANALYZE` is due, which the caller then runs and
    /// reports with `finished()`.
    mutating func wrote(_ rows: Int) -> Bool {
        written += rows
        guard !running, written >= nextAt else { return false }
        while nextAt <= written { nextAt *= 2 }
        running = true
        return true
    }

    mutating func finished() {
        running = false
    }
}
