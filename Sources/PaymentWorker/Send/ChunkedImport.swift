import Foundation
import Gateway
import Kafka
import PaymentsDomain

/// A CSV import too large for one command, sent as consecutive commands of at most
/// `linesPerChunk` lines with at most `inFlight` of them unanswered.
///
/// Every chunk carries one message key, so the worker applies them in file order as it would
/// one command; with an idempotency key K, chunk n carries `K/n`, so sending the same file
/// again with K changes nothing. The replies' rows are written to `output` in file order
/// under one header.
struct ChunkedImport {
    var command: String
    var credentials: [KafkaHeader]
    var key: String
    var idempotencyKey: String?
    var inFlight: Int
    var timeout: Duration
    var chunker: CSVChunker

    struct Summary: Sendable {
        var chunks = 0
        var replies = ChunkReplies()
        var replayed = 0
        var elapsed: Duration = .zero

        var allOK: Bool { replies.ok == chunks }

        var text: String {
            let seconds = elapsed.seconds
            let rate = seconds > 0 ? Int(Double(replies.lines) / seconds) : replies.lines
            var text = "send: \(replies.lines) lines in \(chunks) chunks: \(replies.ok) ok, \(replies.partial) partial, \(replies.refusals.count) error"
            if replayed > 0 { text += " (\(replayed) replayed)" }
            text += "; \(replies.linesWithErrors) lines with errors; \(String(format: "%.1f", seconds)) s, \(rate) lines/s"
            let refusals = replies.refusals.map { "lines \(ChunkedImport.describe($0.lines)) refused: \($0.code): \($0.message)" }
            let shown = refusals.prefix(10).map { "send: \($0)" }
            let more = refusals.count > shown.count ? ["send: ... and \(refusals.count - shown.count) more chunks refused"] : []
            return ([text] + shown + more).joined(separator: "\n")
        }
    }

    struct NoReply: Error, CustomStringConvertible {
        var description: String
    }

    func run(
        through exchange: CommandExchange,
        progress: SendProgress?,
        output: (ArraySlice<UInt8>) -> Void
    ) async throws -> Summary {
        let start = ContinuousClock.now
        var summary = Summary(chunks: chunker.chunkCount)
        var chunks = chunker
        var unanswered: [String: CSVChunker.Chunk] = [:]
        var lastReply = ContinuousClock.now

        func sendMore() async throws {
            var messages: [KafkaProducerMessage] = []
            while unanswered.count < inFlight, let chunk = chunks.next() {
                let correlationId = "\(exchange.correlationPrefix)/\(chunk.number)"
                unanswered[correlationId] = chunk
                var headers = credentials + [
                    KafkaHeader(name: "command", string: command), KafkaHeader(name: "correlation-id", string: correlationId)]
                if let idempotencyKey {
                    headers.append(KafkaHeader(name: "idempotency-key", string: "\(idempotencyKey)/\(chunk.number)"))
                }
                messages.append(KafkaProducerMessage(topic: exchange.commandsTopic, key: Array(key.utf8), value: chunk.body, headers: headers))
            }
            if !messages.isEmpty { try await exchange.send(messages) }
        }

        try await exchange.withEvents { events in
            try await sendMore()
            for await event in events {
                switch event {
                case .tick:
                    progress?.draw(lines: summary.replies.lines, of: chunks.recordCount, elapsed: .now - start)
                    if ContinuousClock.now - lastReply > timeout {
                        let waiting = unanswered.values.map(\.lines).sorted { $0.lowerBound < $1.lowerBound }
                        throw NoReply(description: "no reply for \(timeout); \(waiting.count) chunks unanswered, the first for lines \(waiting.first.map(Self.describe) ?? "-")")
                    }
                case .reply(let reply):
                    guard let correlationId = reply.headers.string(named: "correlation-id"),
                          let chunk = unanswered.removeValue(forKey: correlationId) else { continue }
                    lastReply = .now
                    if reply.headers.string(named: "replayed") == "true" { summary.replayed += 1 }
                    summary.replies.add(ChunkReplies.Answer(reply: reply), for: chunk)
                    let rows = summary.replies.takeRowsInOrder()
                    if !rows.isEmpty { output(rows[...]) }
                    progress?.draw(lines: summary.replies.lines, of: chunks.recordCount, elapsed: .now - start)
                    try await sendMore()
                    if unanswered.isEmpty { return }
                }
            }
        }
        progress?.finish()
        summary.elapsed = .now - start
        return summary
    }

    static func describe(_ lines: ClosedRange<Int>) -> String {
        lines.count == 1 ? "\(lines.lowerBound)" : "\(lines.lowerBound)-\(lines.upperBound)"
    }
}
