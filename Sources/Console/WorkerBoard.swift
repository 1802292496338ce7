import Foundation
import StatusReport
import Synchronization

/// The workers as their status reports tell them: each one's last report, whether it is
/// gone (a final report, or silent for three of its intervals), and the counts each report
/// carried over the history the overview charts. Bounded: reports older than the history are
/// dropped, and so is a worker gone for longer.
public final class WorkerBoard: Sendable {
    public struct Worker: Sendable {
        public var report: WorkerStatusReport
        /// When the report was published.
        public var at: Date
        public var gone: Bool
    }

    /// One report's totals, for the rates.
    struct Sample: Sendable {
        var at: Date
        var commands: Int
        var errors: Int
    }

    private struct State {
        var latest: [String: (report: WorkerStatusReport, at: Date)] = [:]
        var samples: [String: [Sample]] = [:]
    }

    private let state = Mutex(State())
    let history: TimeInterval
    static let defaultInterval: TimeInterval = 5
    static let maxWorkers = 1_000

    public init(history: Duration) {
        self.history = TimeInterval(history.components.seconds)
    }

    /// Takes one report published at `published` (the message's time; one from the future,
    /// a skewed clock, counts as now, so that it cannot hide the reports after it).
    public func add(_ report: WorkerStatusReport, at published: Date) {
        let at = min(published, Date())
        let sample = Sample(
            at: at, commands: Self.total(report.counters.commands.values.map { Self.total($0.values) }),
            errors: Self.total(report.counters.errorEvents.values))
        state.withLock { state in
            if let known = state.latest[report.instanceId], known.at > at { return }
            state.latest[report.instanceId] = (report, at)
            state.samples[report.instanceId, default: []].append(sample)
            let oldest = at.addingTimeInterval(-history)
            state.samples[report.instanceId]?.removeAll { $0.at < oldest }
            if state.latest.count > Self.maxWorkers, let stalest = state.latest.min(by: { $0.value.at < $1.value.at })?.key {
                state.latest[stalest] = nil
                state.samples[stalest] = nil
            }
        }
    }

    /// A report's counts added up, negative ones ignored and the sum held at `Int.max`: a
    /// report is outside data, and a bad one must not stop the console.
    static func total(_ counts: some Sequence<Int>) -> Int {
        counts.reduce(0) { sum, count in
            let (added, overflow) = sum.addingReportingOverflow(max(0, count))
            return overflow ? .max : added
        }
    }

    /// Every worker known, the ones up first, then by instance id.
    public func workers(now: Date = Date()) -> [Worker] {
        let latest = state.withLock { state in
            // A worker gone for longer than the history is forgotten.
            for (id, entry) in state.latest where now.timeIntervalSince(entry.at) > history {
                state.latest[id] = nil
                state.samples[id] = nil
            }
            return state.latest
        }
        return latest.map { id, entry in
            let interval = entry.report.intervalSeconds ?? Self.defaultInterval
            return Worker(report: entry.report, at: entry.at, gone: entry.report.final || now.timeIntervalSince(entry.at) > 3 * interval)
        }
        .sorted { ($0.gone ? 1 : 0, $0.report.instanceId) < ($1.gone ? 1 : 0, $1.report.instanceId) }
    }

    /// Commands answered and error events published per second, in `buckets` equal slices of
    /// the history up to `now`, summed over the workers: each report's counts less the
    /// previous report's, in the slice the report fell in.
    public func rates(now: Date = Date(), buckets: Int = 60) -> (commands: [Double], errors: [Double], bucketSeconds: Double) {
        let samples = state.withLock { $0.samples }
        let width = history / Double(buckets)
        let start = now.addingTimeInterval(-history)
        var commands = [Double](repeating: 0, count: buckets)
        var errors = [Double](repeating: 0, count: buckets)
        for series in samples.values {
            for (previous, sample) in zip(series, series.dropFirst()) {
                let index = Int(sample.at.timeIntervalSince(start) / width)
                guard (0..<buckets).contains(index) else { continue }
                commands[index] += Double(max(0, sample.commands - previous.commands)) / width
                errors[index] += Double(max(0, sample.errors - previous.errors)) / width
            }
        }
        return (commands, errors, width)
    }
}
