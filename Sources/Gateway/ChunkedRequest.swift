import Foundation
import Kafka
import PaymentsDomain

/// A CSV import too large for one Kafka message, sent as consecutive chunk commands of whole
/// lines (docs/contract.md §8, as `payment-worker send` does): in order under one message key, chunk
/// n with idempotency key `K/n` and correlation id `<id>/n`. Its replies are joined into one
/// reply under the request's correlation id, so the request is answered (or its `Location`
/// fetched) as any other.
struct ChunkedRequest: Sendable {
    let command: String
    let correlationId: String
    let chunks: [CSVChunker.Chunk]
    let messages: [KafkaProducerMessage]

    /// - Throws: `413` when one line does not fit in a message, `400` for a CSV without a
    ///   header or an idempotency key too long to number the chunks; nothing is produced.
    init(
        _ forwarded: ForwardedCommand, messageKey: String, idempotencyKey: String?, correlationId: String,
        configuration: GatewayConfiguration
    ) throws(GatewayFailure) {
        let chunker: CSVChunker
        do {
            chunker = try CSVChunker(forwarded.body, linesPerChunk: configuration.linesPerChunk,
                                     maxChunkBytes: configuration.kafka.maxChunkBytes(keyBytes: messageKey.utf8.count))
        } catch {
            throw GatewayFailure(ReplyResponse.status(forCode: error.code.rawValue), code: error.code.rawValue, error.message)
        }
        let numbers = String(chunker.chunkCount).utf8.count + 1
        if let idempotencyKey, idempotencyKey.utf8.count + numbers > 255 {
            throw GatewayFailure(.badRequest, code: "MALFORMED",
                                 "Idempotency-Key must leave room for the chunk number: at most \(255 - numbers) characters for \(chunker.chunkCount) chunks")
        }
        command = forwarded.name
        self.correlationId = correlationId
        chunks = Array(chunker)
        messages = chunks.map { chunk in
            var headers = forwarded.headers
            if let idempotencyKey { headers.append(KafkaHeader(name: "idempotency-key", string: "\(idempotencyKey)/\(chunk.number)")) }
            headers.append(KafkaHeader(name: "correlation-id", string: "\(correlationId)/\(chunk.number)"))
            return KafkaProducerMessage(topic: configuration.commandsTopic, key: Array(messageKey.utf8), value: chunk.body, headers: headers)
        }
    }

    var chunkIds: [String] { chunks.map { "\(correlationId)/\($0.number)" } }

    /// The chunks' replies as one: every line's row in request order under one header,
    /// `partial` when any line or chunk failed; when every chunk was refused, the first
    /// refusal as the request's error, naming the lines it held.
    func joined(_ replies: [KafkaConsumerMessage]) -> KafkaConsumerMessage {
        var joined = ChunkReplies()
        for (chunk, reply) in zip(chunks, replies) { joined.add(ChunkReplies.Answer(reply: reply), for: chunk) }
        let status: String
        let contentType: String
        let body: [UInt8]
        var error: [KafkaHeader] = []
        if joined.ok + joined.partial == 0, let refusal = joined.refusals.first {
            status = "error"
            contentType = "application/json"
            let message = "lines \(refusal.lines.lowerBound)-\(refusal.lines.upperBound): \(refusal.message)"
            body = GatewayFailure.body(code: refusal.code, message: message)
            error = [KafkaHeader(name: "error-code", string: refusal.code), KafkaHeader(name: "error-message", string: message)]
        } else {
            status = joined.ok == chunks.count ? "ok" : "partial"
            contentType = "text/csv; charset=utf-8"
            body = joined.takeRowsInOrder()
        }
        var headers = [
            KafkaHeader(name: "command", string: command), KafkaHeader(name: "status", string: status),
            KafkaHeader(name: "correlation-id", string: correlationId), KafkaHeader(name: "content-type", string: contentType),
        ] + error
        if replies.allSatisfy({ $0.headers.string(named: "replayed") == "true" }) {
            headers.append(KafkaHeader(name: "replayed", string: "true"))
        }
        return KafkaConsumerMessage(topic: replies.first?.topic ?? "", partition: -1, offset: -1, value: body, headers: headers)
    }
}

extension GatewayHandler {
    /// Registers the chunks and the request on the reply board, produces the chunks in order,
    /// and joins their replies in a task of its own, which hands the joined reply to the
    /// board under the request's id: the request may stop waiting (`202`) long before.
    func send(_ request: ChunkedRequest) async throws(GatewayFailure) {
        let ids = [request.correlationId] + request.chunkIds
        try register(ids)
        try await produce(request.messages, of: request.command, waitingAs: ids)
        let board = self.board
        let keep = configuration.keepReplies
        let logger = self.logger
        Task {
            var replies: [KafkaConsumerMessage] = []
            for id in request.chunkIds {
                guard let reply = await board.wait(for: id, timeout: keep) else {
                    logger.warning("a chunk of an import was not answered in time; the import has no joined reply",
                                   metadata: ["correlation_id": "\(request.correlationId)", "chunk": "\(id)"])
                    for id in request.chunkIds { board.remove(id) }
                    return
                }
                replies.append(reply)
            }
            board.deliver(request.joined(replies))
        }
    }
}
