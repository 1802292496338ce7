import ArgumentParser
import Foundation
import GRDB

/// `payment-bench`: the figures in the README. Build in release mode (`ops/bench.sh`).
@main
struct PaymentBenchmarks: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "payment-bench",
        abstract: "Throughput benchmarks for the payments domain and stores.",
        subcommands: [CSVBenchmark.self, DecodeBenchmark.self, UpsertBenchmark.self, SQLiteFloorBenchmark.self, PostgresFloorBenchmark.self, WorkerBenchmark.self, RequestReplyBenchmark.self, PassthroughBenchmark.self, HTTPFloorBenchmark.self, ConsoleDLQBenchmark.self]
    )
}

/// Generated UpdatePayments CSV: inserts on order Ref123, every fifth line with a quoted,
/// comma-holding comment, like a bulk import.
enum Workload {
    static let header = "OrderRef,PaymentImportedRef,Active,Method,Direction,Amount,Date,TransactionAuthorized,TransactionRef,Comments"

    /// Tells runs apart, so that a store kept between runs sees new payments, not replays.
    static let runTag = String(UInt32.random(in: .min ... .max), radix: 36)

    static func csv(lines: Int, batch: Int) -> String {
        var text = header + "\n"
        text.reserveCapacity(lines * 100)
        for line in 0..<lines {
            let comment = line % 5 == 0 ? "\"paid, \"\"in full\"\"\"" : "ok"
            text += "Ref123,\(runTag)-B\(batch)-L\(line),1,Direct Credit,1,\(line % 997).\(line % 100),2013-09-16 1:00:00,1,TX\(line),\(comment)\n"
        }
        return text
    }
}

struct Measurement {
    let name: String
    let seconds: Double
    let units: Int
    let unit: String

    var perSecond: Double { Double(units) / seconds }

    func report() {
        print("\(name): \(units) \(unit) in \(String(format: "%.3f", seconds)) s = \(String(format: "%.0f", perSecond)) \(unit)/s")
    }
}

func measure(_ name: String, units: Int, unit: String, _ body: () async throws -> Void) async rethrows -> Measurement {
    let clock = ContinuousClock()
    let elapsed = try await clock.measure { try await body() }
    let measurement = Measurement(name: name, seconds: elapsed.seconds, units: units, unit: unit)
    measurement.report()
    return measurement
}

/// The middle value (the upper one of an even count); 0 for none.
func median(_ values: [Double]) -> Double {
    let sorted = values.sorted()
    return sorted.isEmpty ? 0 : sorted[sorted.count / 2]
}

extension Duration {
    var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}

/// A GRDB pool on `path` with the SQLite store's durability setting, so that a benchmark's
/// own writes pay for commits what the store's do.
func poolWithStoreDurability(path: String) throws -> DatabasePool {
    var configuration = Configuration()
    configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
    return try DatabasePool(path: path, configuration: configuration)
}

/// Peak resident memory of this process, from /proc (Linux).
func peakMemoryMiB() -> Double? {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
          let kib = Double(line.split(separator: " ").dropFirst().first ?? "") else { return nil }
    return kib / 1024
}

/// The whole machine's CPU time so far, busy and in all, in clock ticks (Linux `/proc/stat`;
/// nil elsewhere): what the worker, the broker and this program used between two readings.
struct MachineCPU {
    let busy: Double
    let total: Double

    static func now() -> MachineCPU? {
        guard let stat = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
              let line = stat.split(separator: "\n").first(where: { $0.hasPrefix("cpu ") }) else { return nil }
        // user nice system idle iowait irq softirq steal: idle and iowait are the idle part.
        let ticks = line.split(separator: " ").dropFirst().prefix(8).compactMap { Double($0) }
        guard ticks.count == 8 else { return nil }
        let total = ticks.reduce(0, +)
        return MachineCPU(busy: total - ticks[3] - ticks[4], total: total)
    }

    /// The busy share of the time from `earlier` to `self`, 0 to 1.
    func busyShare(since earlier: MachineCPU) -> Double {
        let total = self.total - earlier.total
        return total > 0 ? (busy - earlier.busy) / total : 0
    }
}
