import CRDKafka

/// Blocking metadata calls; callers run them through `runBlocking`.
extension RDKafkaClient {
    /// The cluster's id, as its brokers report it.
    static func clusterID(handle: OpaquePointer, timeout: Duration) throws -> String {
        guard let id = rd_kafka_clusterid(handle, Int32(clamping: timeout.milliseconds)) else {
            throw KafkaError(code: .client, message: "the cluster id could not be read within \(timeout)", isRetriable: true)
        }
        defer { rd_kafka_mem_free(handle, id) }
        return String(cString: id)
    }

    /// The partitions of `topic`, asked of the broker (which may create the topic when it
    /// auto-creates topics).
    static func partitions(of topic: String, handle: OpaquePointer, timeout: Duration) throws -> [KafkaTopicPartition] {
        guard let topicHandle = rd_kafka_topic_new(handle, topic, nil) else {
            throw KafkaError(code: .client, message: "could not name topic \(topic)")
        }
        defer { rd_kafka_topic_destroy(topicHandle) }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let error = rd_kafka_metadata(handle, 0, topicHandle, &metadata, Int32(clamping: timeout.milliseconds))
        defer { if let metadata { rd_kafka_metadata_destroy(metadata) } }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, let metadata else {
            throw KafkaError(code: .client, responseError: error, context: "reading the metadata of \(topic)")
        }
        let topics = UnsafeBufferPointer(start: metadata.pointee.topics, count: Int(metadata.pointee.topic_cnt))
        guard let described = topics.first(where: { String(cString: $0.topic) == topic }) else {
            throw KafkaError(code: .client, message: "the broker did not describe topic \(topic)")
        }
        guard described.err == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: .client, responseError: described.err, context: "topic \(topic)")
        }
        return UnsafeBufferPointer(start: described.partitions, count: Int(described.partition_cnt))
            .map { KafkaTopicPartition(topic: topic, partition: $0.id) }
            .sorted()
    }

    /// The offset the next message of `partition` will get.
    static func highWatermark(of partition: KafkaTopicPartition, handle: OpaquePointer, timeout: Duration) throws -> Int64 {
        try watermarks(of: partition, handle: handle, timeout: timeout).upperBound
    }

    /// The offsets of the oldest message `partition` still holds and of its next message.
    static func watermarks(of partition: KafkaTopicPartition, handle: OpaquePointer, timeout: Duration) throws -> Range<Int64> {
        var low: Int64 = -1
        var high: Int64 = -1
        let error = partition.topic.withCString { topic in
            rd_kafka_query_watermark_offsets(handle, topic, partition.partition, &low, &high, Int32(clamping: timeout.milliseconds))
        }
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR, low <= high else {
            throw KafkaError(code: .client, responseError: error, context: "reading the ends of \(partition)")
        }
        return low..<high
    }

    /// Each partition's first offset whose message is at or after `milliseconds`; -1 where
    /// there is none yet.
    static func offsets(
        at milliseconds: Int64, in partitions: [KafkaTopicPartition], handle: OpaquePointer, timeout: Duration
    ) throws -> [KafkaTopicPartition: Int64] {
        guard !partitions.isEmpty else { return [:] }
        let list = NativePartitionList(partitions, offsets: Dictionary(uniqueKeysWithValues: partitions.map { ($0, milliseconds) }))
        let error = rd_kafka_offsets_for_times(handle, list.pointer, Int32(clamping: timeout.milliseconds))
        guard error == RD_KAFKA_RESP_ERR_NO_ERROR else {
            throw KafkaError(code: .client, responseError: error, context: "finding offsets by time")
        }
        if let (partition, partitionError) = list.firstError() {
            throw KafkaError(code: .client, responseError: partitionError, context: "finding offsets by time in \(partition)")
        }
        return list.offsets()
    }
}
