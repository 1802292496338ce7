import Foundation
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
        var lines = 0
        var ok = 0
        var partial = 0
        var failed = 0
        var replayed = 0
        var linesWithErrors = 0
        /// What each refused chunk was told, in file order.
        var refusals: [String] = []
        var elapsed: Duration = .zero

        var allOK: Bool { ok == chunks }

        var text: String {
            let seconds = elapsed.seconds
            let rate = seconds > 0 ? Int(Double(lines) / seconds) : lines
            var text = "send: \(lines) lines in \(chunks) chunks: \(ok) ok, \(partial) partial, \(failed) error"
            if replayed > 0 { text += " (\(replayed) replayed)" }
            text += "; \(linesWithErrors) lines with errors; \(String(format: "%.1f", seconds)) s, \(rate) lines/s"
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
        var finished: [Int: ArraySlice<UInt8>] = [:]
        var nextToWrite = 1
        var wroteHeader = false
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
                    progress?.draw(lines: summary.lines, of: chunks.recordCount, elapsed: .now - start)
                    if ContinuousClock.now - lastReply > timeout {
                        let waiting = unanswered.values.map(\.lines).sorted { $0.lowerBound < $1.lowerBound }
                        throw NoReply(description: "no reply for \(timeout); \(waiting.count) chunks unanswered, the first for lines \(waiting.first.map(Self.describe) ?? "-")")
                    }
                case .reply(let reply):
                    guard let correlationId = reply.headers.string(named: "correlation-id"),
                          let chunk = unanswered.removeValue(forKey: correlationId) else { continue }
                    lastReply = .now
                    finished[chunk.number] = record(reply, for: chunk, in: &summary)
                    while let rows = finished.removeValue(forKey: nextToWrite) {
                        output(wroteHeader ? Self.droppingHeader(rows) : rows)
                        wroteHeader = wroteHeader || !rows.isEmpty
                        nextToWrite += 1
                    }
                    progress?.draw(lines: summary.lines, of: chunks.recordCount, elapsed: .now - start)
                    try await sendMore()
                    if unanswered.isEmpty { return }
                }
            }
        }
        progress?.finish()
        summary.elapsed = .now - start
        return summary
    }

    /// Counts the reply in `summary`; returns the CSV rows to write (header included).
    private func record(_ reply: KafkaConsumerMessage, for chunk: CSVChunker.Chunk, in summary: inout Summary) -> ArraySlice<UInt8> {
        let body = reply.value ?? []
        summary.lines += chunk.lineCount
        if reply.headers.string(named: "replayed") == "true" { summary.replayed += 1 }
        switch reply.headers.string(named: "status") {
        case "ok", "partial":
            if reply.headers.string(named: "status") == "ok" { summary.ok += 1 } else { summary.partial += 1 }
            let unlimited = CSVLimits(maxBytes: .max, maxRecords: .max, maxFieldBytes: .max)
            guard let document = try? CSVReader.read(body, limits: unlimited) else { return body[...] }
            summary.linesWithErrors += document.records.filter { $0.fields.last?.isEmpty == false }.count
            return Self.namingFileLines(document, of: chunk) ?? body[...]
        default:
            summary.failed += 1
            summary.linesWithErrors += chunk.lineCount
            let refusal = (try? JSONDecoder().decode(Refusal.self, from: Data(body)))
                .map { "\($0.code): \(chunk.namingFileLines($0.message))" } ?? String(decoding: body, as: UTF8.self)
            summary.refusals.append("lines \(Self.describe(chunk.lines)) refused: \(refusal)")
            return []
        }
    }

    /// The reply rewritten so that line errors name the file's lines, not the chunk's; nil
    /// when no error names a line.
    private static func namingFileLines(_ document: CSVDocument, of chunk: CSVChunker.Chunk) -> ArraySlice<UInt8>? {
        let errorColumn = document.header.count - 1
        guard errorColumn >= 0, document.records.contains(where: { $0.fields.last?.hasPrefix("line ") == true }) else { return nil }
        var writer = CSVWriter(header: document.header)
        for record in document.records {
            var fields = record.fields
            if fields.count == document.header.count { fields[errorColumn] = chunk.namingFileLines(fields[errorColumn]) }
            writer.writeRecord(fields)
        }
        return writer.bytes[...]
    }

    private struct Refusal: Decodable {
        var code: String
        var message: String
    }

    private static func describe(_ lines: ClosedRange<Int>) -> String {
        lines.count == 1 ? "\(lines.lowerBound)" : "\(lines.lowerBound)-\(lines.upperBound)"
    }

    /// The rows after the header line (reply headers never hold a quoted line break).
    private static func droppingHeader(_ body: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        guard let end = body.firstIndex(of: UInt8(ascii: "\n")) else { return [] }
        return body[(end + 1)...]
    }
}
