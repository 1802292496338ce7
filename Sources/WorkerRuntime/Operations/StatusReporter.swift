import Foundation
import Kafka
import ServiceLifecycle
import StatusReport

/// Publishes the worker's status report (docs/contract.md §9) on the status topic every
/// `statusInterval`, keyed by its instance id, and a last one when it stops. What it reports
/// it reads from what the worker keeps anyway (health, the outage, batches in flight, the
/// consumer's cached positions, the metrics' counts), so a report costs no store or broker
/// round trip; it is handed to the producer without waiting for its acknowledgement.
struct StatusReporter: Sendable {
    let instanceID: String
    let startedAt: Date
    /// Its producers, and (through its handler) the configuration, the outage, the metrics
    /// and the batches in flight.
    let publisher: ReplyPublisher
    let consumer: any CommandSource
    let health: WorkerHealth

    private var configuration: WorkerConfiguration { publisher.handler.configuration }
    private var outage: StoreOutage { publisher.handler.outage }
    private var metrics: WorkerMetrics { publisher.handler.metrics }
    private var inFlight: InFlightWork { publisher.inFlight }

    /// Until cancelled: a report now, then every interval.
    func run() async {
        repeat {
            await publish(report(final: false))
        } while (try? await Task.sleep(for: configuration.statusInterval)) != nil
    }

    /// The last report, saying the worker stops.
    func publishFinal() async {
        await publish(report(final: true))
    }

    private func publish(_ report: WorkerStatusReport) async {
        guard let body = try? WorkerStatusReport.encoder.encode(report) else { return }
        let message = KafkaProducerMessage(topic: configuration.topics.status, key: Array(instanceID.utf8), value: Array(body),
                                           headers: [KafkaHeader(name: "content-type", string: "application/json")])
        // The acknowledgement is not awaited: a report the broker does not take now is
        // superseded by the next. Handing it over has a deadline too, since a producer whose
        // queue is full (the broker away for long) makes its caller wait for room, and the
        // worker's shutdown must not wait for a report.
        let producers = publisher.producers
        _ = try? await withDeadline(.seconds(1), onTimeout: { CancellationError() }) {
            _ = try await producers.current.producer.publish([message])
        }
    }

    func report(final: Bool, now: Date = Date()) -> WorkerStatusReport {
        let outageReason = outage.reason
        let checks = health.checks
        let state: WorkerStatusReport.State =
            if final || Task.isShuttingDownGracefully { .stopping }
            else if outageReason != nil { .waitingOutAnOutage }
            else if checks.allSatisfy(\.passing) { .ready }
            else { .starting }
        let storeCheck = checks.first { $0.check == .store }
        let progress = (try? consumer.progress()) ?? [:]
        let inFlightByPartition = inFlight.countByPartition()
        let partitions = progress.keys.sorted { ($0.topic, $0.partition) < ($1.topic, $1.partition) }.map { partition in
            let at = progress[partition]
            return WorkerStatusReport.Partition(
                topic: partition.topic, partition: partition.partition, position: at?.position, committed: at?.stored,
                lag: at?.lag, paused: outageReason != nil, inFlight: inFlightByPartition[partition] ?? 0)
        }
        let usage = ProcessUsage.now()
        return WorkerStatusReport(
            instanceId: instanceID, host: ProcessInfo.processInfo.hostName, pid: getpid(), version: WorkerStatusReport.workerVersion,
            startedAt: Self.iso8601(startedAt), at: Self.iso8601(now), state: state, final: final,
            store: WorkerStatusReport.Store(kind: configuration.storeKind, healthy: outageReason == nil && storeCheck?.passing != false,
                                            reason: outageReason ?? (storeCheck?.passing == false ? storeCheck?.reason : nil)),
            partitions: partitions, counters: metrics.sinceStartCounts, cpuSeconds: usage.cpuSeconds, residentBytes: usage.residentBytes,
            intervalSeconds: Double(configuration.statusInterval.components.seconds)
                + Double(configuration.statusInterval.components.attoseconds) / 1e18)
    }

    static func iso8601(_ date: Date) -> String {
        date.formatted(.iso8601)
    }

    /// The id a worker without a configured instance id reports under: its host, its process
    /// id and a random part, so that a restarted process is a new worker.
    static func defaultInstanceID() -> String {
        "\(ProcessInfo.processInfo.hostName)-\(getpid())-\(String(UInt32.random(in: .min ... .max), radix: 36))"
    }
}

extension WorkerStatusReport {
    /// The worker's version, as its reports give it.
    public static let workerVersion = "1.0.0"
}

/// The process's CPU time and resident memory, from the kernel.
enum ProcessUsage {
    static func now() -> (cpuSeconds: Double, residentBytes: Int) {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let cpu = Double(usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) + Double(usage.ru_utime.tv_usec + usage.ru_stime.tv_usec) / 1_000_000
        // /proc/self/statm: sizes in pages; the second is what is resident.
        let statm = (try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8)) ?? ""
        let residentPages = statm.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        return (cpu, residentPages * Int(sysconf(Int32(_SC_PAGESIZE))))
    }
}
