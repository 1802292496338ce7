import Foundation

/// What a worker publishes on the status topic every few seconds, keyed by its instance id
/// (docs/contract.md §9): who it is, what state it is in, its store, its partitions and what it
/// has done since it started. The operator console reads these; so may any Kafka client.
/// JSON with snake_case keys (`WorkerStatusReport.encoder`); `schema_version` says which
/// fields to expect.
public struct WorkerStatusReport: Codable, Sendable, Equatable {
    public static let currentSchemaVersion = 1

    public enum State: String, Codable, Sendable {
        case starting
        case ready
        case waitingOutAnOutage = "waiting out an outage"
        case stopping
    }

    public struct Store: Codable, Sendable, Equatable {
        /// `sqlite` or `postgres`.
        public var kind: String
        public var healthy: Bool
        /// Why not, while it is not.
        public var reason: String?

        public init(kind: String, healthy: Bool, reason: String? = nil) {
            self.kind = kind
            self.healthy = healthy
            self.reason = reason
        }
    }

    public struct Partition: Codable, Sendable, Equatable {
        public var topic: String
        public var partition: Int32
        /// The next offset the consumer fetches.
        public var position: Int64?
        /// The next offset stored for commit: everything before it is answered.
        public var committed: Int64?
        /// Messages behind the partition's end.
        public var lag: Int64?
        public var paused: Bool
        /// Batches handed to the partition's lane and not yet done.
        public var inFlight: Int

        public init(topic: String, partition: Int32, position: Int64?, committed: Int64?, lag: Int64?, paused: Bool, inFlight: Int) {
            self.topic = topic
            self.partition = partition
            self.position = position
            self.committed = committed
            self.lag = lag
            self.paused = paused
            self.inFlight = inFlight
        }
    }

    /// Since the worker started.
    public struct Counters: Codable, Sendable, Equatable {
        /// Commands answered, by command and then status (`ok`, `partial`, `error`, `poison`).
        public var commands: [String: [String: Int]] = [:]
        /// Error events published, by code.
        public var errorEvents: [String: Int] = [:]
        public var dlqCopies = 0
        public var replays = 0

        public init() {}
    }

    public var schemaVersion = Self.currentSchemaVersion
    public var instanceId: String
    public var host: String
    public var pid: Int32
    public var version: String
    /// ISO 8601, UTC.
    public var startedAt: String
    /// When this report was made; ISO 8601, UTC.
    public var at: String
    public var state: State
    /// True on the last report of a worker that is stopping.
    public var final: Bool
    public var store: Store
    public var partitions: [Partition]
    public var counters: Counters
    public var cpuSeconds: Double
    public var residentBytes: Int
    /// How often the worker reports: one silent for three intervals is gone.
    public var intervalSeconds: Double?

    public init(
        instanceId: String, host: String, pid: Int32, version: String, startedAt: String, at: String, state: State, final: Bool,
        store: Store, partitions: [Partition], counters: Counters, cpuSeconds: Double, residentBytes: Int,
        intervalSeconds: Double? = nil
    ) {
        self.instanceId = instanceId
        self.host = host
        self.pid = pid
        self.version = version
        self.startedAt = startedAt
        self.at = at
        self.state = state
        self.final = final
        self.store = store
        self.partitions = partitions
        self.counters = counters
        self.cpuSeconds = cpuSeconds
        self.residentBytes = residentBytes
        self.intervalSeconds = intervalSeconds
    }

    /// snake_case keys, sorted, as published.
    public static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    public static var decoder: JSONDecoder {
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        return decoder
    }
}
