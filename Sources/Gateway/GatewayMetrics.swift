import Metrics

/// The gateway's metrics, their handles made once: a handle made per request cost a lookup
/// in the metrics registry under its lock, three times a request.
struct GatewayMetrics: Sendable {
    private static let codes = [200, 202, 400, 401, 404, 405, 409, 413, 500, 503]

    private let commandCounters: [String: Counter]
    private let responseCounters: [Int: Counter]
    private let otherResponses = Counter(label: "payment_gateway_responses_total", dimensions: [("code", "other")])
    private let latency = Metrics.Timer(label: "payment_gateway_request_seconds")
    private let pending = Gauge(label: "payment_gateway_pending_replies")

    /// `commands`: the commands served, the only values of the `command` label.
    init(commands: Set<String>) {
        var commandCounters: [String: Counter] = [:]
        // Known commands only as label values: a client cannot make a label per action it sends.
        for command in commands.union(["unknown"]) {
            commandCounters[command] = Counter(label: "payment_gateway_commands_total", dimensions: [("command", command)])
        }
        self.commandCounters = commandCounters
        responseCounters = Dictionary(uniqueKeysWithValues: Self.codes.map {
            ($0, Counter(label: "payment_gateway_responses_total", dimensions: [("code", String($0))]))
        })
    }

    /// Counts commands produced: a chunked import counts each chunk.
    func produced(_ command: String, count: Int = 1) {
        (commandCounters[command] ?? commandCounters["unknown"])?.increment(by: Int64(count))
    }

    func answered(status: Int, took duration: Duration, waiting: Int) {
        (responseCounters[status] ?? otherResponses).increment()
        latency.recordNanoseconds(duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000)
        pending.record(waiting)
    }
}
