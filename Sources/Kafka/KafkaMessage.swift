import CRDKafka
#if canImport(Glibc)
import Glibc
#endif

/// A record header. Kafka allows repeated names, so headers are a list, not a dictionary.
public struct KafkaHeader: Sendable, Hashable {
    public var name: String
    public var value: [UInt8]?

    public init(name: String, value: [UInt8]?) {
        self.name = name
        self.value = value
    }

    public init(name: String, string: String) {
        self.init(name: name, value: Array(string.utf8))
    }

    /// The value as UTF-8 text, nil when absent or not valid UTF-8.
    public var stringValue: String? {
        value.flatMap { String(validating: $0, as: UTF8.self) }
    }
}

extension Array where Element == KafkaHeader {
    /// The first header of that name, as UTF-8 text.
    public func string(named name: String) -> String? {
        first { $0.name == name }?.stringValue
    }
}

public struct KafkaTopicPartition: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var topic: String
    public var partition: Int32

    public init(topic: String, partition: Int32) {
        self.topic = topic
        self.partition = partition
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        (lhs.topic, lhs.partition) < (rhs.topic, rhs.partition)
    }

    public var description: String { "\(topic)/\(partition)" }
}

public struct KafkaProducerMessage: Sendable, Hashable {
    public var topic: String
    /// nil lets the partitioner choose from the key.
    public var partition: Int32?
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]

    public init(
        topic: String,
        partition: Int32? = nil,
        key: [UInt8]? = nil,
        value: [UInt8]?,
        headers: [KafkaHeader] = []
    ) {
        self.topic = topic
        self.partition = partition
        self.key = key
        self.value = value
        self.headers = headers
    }
}

/// The broker's acknowledgement of one produced message.
public struct KafkaDeliveryReport: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
}

public struct KafkaConsumerMessage: Sendable, Hashable {
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var key: [UInt8]?
    public var value: [UInt8]?
    public var headers: [KafkaHeader]
    /// Milliseconds since the epoch, when the broker gave one.
    public var timestamp: Int64?

    public init(
        topic: String,
        partition: Int32,
        offset: Int64,
        key: [UInt8]? = nil,
        value: [UInt8]?,
        headers: [KafkaHeader] = [],
        timestamp: Int64? = nil
    ) {
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.key = key
        self.value = value
        self.headers = headers
        self.timestamp = timestamp
    }

    public var topicPartition: KafkaTopicPartition {
        KafkaTopicPartition(topic: topic, partition: partition)
    }

    /// Copies a polled message out of librdkafka's memory. Takes librdkafka's own pointer:
    /// headers and timestamp are found from it, so a copy of the struct will not do.
    /// `topicNames` keeps one String per topic handle, so a message does not allocate its name.
    init(_ pointer: UnsafePointer<rd_kafka_message_t>, topicNames: inout TopicNameCache) {
        let message = pointer.pointee
        topic = message.rkt.map { topicNames.name(of: $0) } ?? ""
        partition = message.partition
        offset = message.offset
        key = message.key.map { Array(UnsafeRawBufferPointer(start: $0, count: message.key_len)) }
        value = message.payload.map { Array(UnsafeRawBufferPointer(start: $0, count: message.len)) }
        var timestampType = RD_KAFKA_TIMESTAMP_NOT_AVAILABLE
        let time = rd_kafka_message_timestamp(pointer, &timestampType)
        timestamp = timestampType == RD_KAFKA_TIMESTAMP_NOT_AVAILABLE ? nil : time
        headers = Self.headers(of: pointer)
    }

    private static func headers(of pointer: UnsafePointer<rd_kafka_message_t>) -> [KafkaHeader] {
        var nativeHeaders: OpaquePointer?
        guard rd_kafka_message_headers(pointer, &nativeHeaders) == RD_KAFKA_RESP_ERR_NO_ERROR, let nativeHeaders else {
            return []
        }
        var headers: [KafkaHeader] = []
        headers.reserveCapacity(rd_kafka_header_cnt(nativeHeaders))
        var index = 0
        var name: UnsafePointer<CChar>?
        var value: UnsafeRawPointer?
        var size = 0
        while rd_kafka_header_get_all(nativeHeaders, index, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR {
            headers.append(KafkaHeader(
                name: name.map { String(cString: $0) } ?? "",
                value: value.map { Array(UnsafeRawBufferPointer(start: $0, count: size)) }
            ))
            index += 1
        }
        return headers
    }
}

/// The topic names a poll loop has seen, so a message whose name is longer than 15 bytes
/// (a heap string) shares one String instead of allocating its own. Matched by content, not
/// by handle: a handle's address may be reused for another topic.
struct TopicNameCache {
    private var names: [String] = []
    /// A worker consumes a handful of topics; past this the cache stops growing.
    private static let limit = 32

    mutating func name(of handle: OpaquePointer) -> String {
        guard let cName = rd_kafka_topic_name(handle) else { return "" }
        for name in names where name.withCString({ strcmp($0, cName) == 0 }) { return name }
        let name = String(cString: cName)
        if names.count < Self.limit { names.append(name) }
        return name
    }
}

extension KafkaTopicPartition {
    /// Reads a librdkafka partition list.
    static func array(from list: UnsafePointer<rd_kafka_topic_partition_list_t>) -> [KafkaTopicPartition] {
        let count = Int(list.pointee.cnt)
        guard count > 0, let elements = list.pointee.elems else { return [] }
        return (0..<count).map { index in
            KafkaTopicPartition(
                topic: String(cString: elements[index].topic),
                partition: elements[index].partition
            )
        }
    }
}

/// A librdkafka partition list built from Swift values, destroyed with this value's scope.
struct NativePartitionList: ~Copyable {
    let pointer: UnsafeMutablePointer<rd_kafka_topic_partition_list_t>

    init(_ partitions: [KafkaTopicPartition], offsets: [KafkaTopicPartition: Int64] = [:]) {
        pointer = rd_kafka_topic_partition_list_new(Int32(max(partitions.count, 1)))
        for partition in partitions {
            let element = rd_kafka_topic_partition_list_add(pointer, partition.topic, partition.partition)
            if let offset = offsets[partition] { element?.pointee.offset = offset }
        }
    }

    /// Per-partition errors librdkafka left in the list after a call.
    func firstError() -> (KafkaTopicPartition, rd_kafka_resp_err_t)? {
        let count = Int(pointer.pointee.cnt)
        guard let elements = pointer.pointee.elems else { return nil }
        for index in 0..<count where elements[index].err != RD_KAFKA_RESP_ERR_NO_ERROR {
            let partition = KafkaTopicPartition(
                topic: String(cString: elements[index].topic), partition: elements[index].partition)
            return (partition, elements[index].err)
        }
        return nil
    }

    /// Offsets librdkafka filled in, by partition.
    func offsets() -> [KafkaTopicPartition: Int64] {
        let count = Int(pointer.pointee.cnt)
        guard let elements = pointer.pointee.elems else { return [:] }
        var result: [KafkaTopicPartition: Int64] = [:]
        for index in 0..<count {
            let partition = KafkaTopicPartition(
                topic: String(cString: elements[index].topic), partition: elements[index].partition)
            result[partition] = elements[index].offset
        }
        return result
    }

    deinit {
        rd_kafka_topic_partition_list_destroy(pointer)
    }
}

/// Where a consumer stands in one partition.
public struct PartitionProgress: Sendable, Hashable {
    /// The next offset it fetches, once it has one.
    public var position: Int64?
    /// The next offset stored for commit: every message before it is done.
    public var stored: Int64?
    /// Messages behind the partition's end.
    public var lag: Int64?

    public init(position: Int64?, stored: Int64?, lag: Int64?) {
        self.position = position
        self.stored = stored
        self.lag = lag
    }
}
