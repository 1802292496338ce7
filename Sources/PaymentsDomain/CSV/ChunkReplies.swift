/// The replies of an import's chunks (`CSVChunker`) made into one CSV, as one command's
/// reply would have been: one header, every line's row in file order, line errors naming
/// the file's lines. `payment-worker send` and the HTTP gateway both answer through it.
public struct ChunkReplies: Sendable {
    /// What one chunk was answered.
    public enum Answer: Sendable {
        /// `ok` or `partial`: the reply's CSV body.
        case rows(partial: Bool, body: [UInt8])
        /// `error`: the chunk was refused as a whole.
        case refused(code: String, message: String)
    }

    public private(set) var header: [String]?
    public private(set) var lines = 0
    public private(set) var linesWithErrors = 0
    public private(set) var ok = 0
    public private(set) var partial = 0
    /// Each refused chunk's lines and why, in the order they were answered.
    public private(set) var refusals: [Refusal] = []
    /// Each answered chunk's rows as CSV text without the header; nil for a refused chunk,
    /// whose rows are made once a header is known.
    private var rowsByChunk: [Int: (chunk: CSVChunker.Chunk, rows: ArraySlice<UInt8>?)] = [:]
    private var nextInOrder = 1
    private var wroteHeader = false

    public struct Refusal: Sendable {
        public var lines: ClosedRange<Int>
        public var code: String
        /// Naming the file's lines.
        public var message: String
    }

    public init() {}

    /// Records `answer` as the reply to `chunk`.
    public mutating func add(_ answer: Answer, for chunk: CSVChunker.Chunk) {
        lines += chunk.lineCount
        switch answer {
        case .rows(let isPartial, let body):
            if isPartial { partial += 1 } else { ok += 1 }
            rowsByChunk[chunk.number] = (chunk, rows(of: body, for: chunk))
        case .refused(let code, let message):
            linesWithErrors += chunk.lineCount
            refusals.append(Refusal(lines: chunk.lines, code: code, message: chunk.namingFileLines(message)))
            rowsByChunk[chunk.number] = (chunk, nil)
        }
    }

    /// The rows of a reply without its header, counted, with line errors naming the file's
    /// lines (rewritten only when some error names a line).
    private mutating func rows(of body: [UInt8], for chunk: CSVChunker.Chunk) -> ArraySlice<UInt8> {
        let unlimited = CSVLimits(maxBytes: .max, maxRecords: .max, maxFieldBytes: .max)
        guard let document = try? CSVReader.read(body, limits: unlimited) else { return [] }
        header = header ?? document.header
        let errorColumn = document.header.count - 1
        let withErrors = document.records.filter { $0.fields.count == document.header.count && $0.fields.last?.isEmpty == false }
        linesWithErrors += withErrors.count
        guard withErrors.contains(where: { $0.fields[errorColumn].hasPrefix("line ") }) else {
            // Reply headers never hold a quoted line break.
            guard let end = body.firstIndex(of: UInt8(ascii: "\n")) else { return [] }
            return body[(end + 1)...]
        }
        var writer = CSVWriter()
        for record in document.records {
            var fields = record.fields
            if fields.count == document.header.count { fields[errorColumn] = chunk.namingFileLines(fields[errorColumn]) }
            writer.writeRecord(fields)
        }
        return writer.bytes[...]
    }

    /// The rows of the chunks answered since the last call, as far as every chunk before them
    /// is answered: CSV text, the header before the first rows. A refused chunk's lines get a
    /// row each, with its `LineId` and why in the last column; nothing is written before a
    /// reply has given the header.
    public mutating func takeRowsInOrder() -> [UInt8] {
        guard let header else { return [] }
        var writer = wroteHeader ? CSVWriter() : CSVWriter(header: header)
        wroteHeader = true
        while let (chunk, answered) = rowsByChunk.removeValue(forKey: nextInOrder) {
            if let answered {
                writer.append(answered)
            } else {
                for row in rows(forRefused: chunk, header: header) { writer.writeRecord(row) }
            }
            nextInOrder += 1
        }
        return writer.bytes
    }

    /// A row for each line of a refused chunk: its `LineId`, the other columns empty, and
    /// the refusal in the last.
    private func rows(forRefused chunk: CSVChunker.Chunk, header: [String]) -> [[String]] {
        let unlimited = CSVLimits(maxBytes: .max, maxRecords: .max, maxFieldBytes: .max)
        guard let refusal = refusals.first(where: { $0.lines == chunk.lines }),
              let document = try? CSVReader.read(chunk.body, limits: unlimited) else { return [] }
        let lineIdColumn = document.header.firstIndex { $0.trimmingSpaces.lowercased() == "lineid" }
        let replyLineIdColumn = header.firstIndex { $0.lowercased() == "lineid" }
        return document.records.map { record in
            var fields = Array(repeating: "", count: header.count)
            if let lineIdColumn, let replyLineIdColumn, lineIdColumn < record.fields.count {
                fields[replyLineIdColumn] = record.fields[lineIdColumn]
            }
            if !fields.isEmpty { fields[fields.count - 1] = "\(refusal.code): \(refusal.message)" }
            return fields
        }
    }
}
