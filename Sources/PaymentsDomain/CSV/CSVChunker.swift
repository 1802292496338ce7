/// Splits a large CSV import into bodies of at most `linesPerChunk` records and at most
/// `maxChunkBytes` bytes, each under the same header, so that a million-line file travels as
/// commands that fit in a Kafka message and that the worker's limits accept.
///
/// Records are cut at line breaks outside quotes, as `CSVReader` reads them; blank lines are
/// dropped. When the header has no `LineId` column one is added holding each record's
/// 1-based index in the whole file, so the replies name lines as one command would have.
public struct CSVChunker: Sequence, IteratorProtocol, Sendable {
    public struct Chunk: Sendable, Hashable {
        /// 1-based.
        public var number: Int
        /// The 1-based index in the file of the chunk's first record.
        public var firstLine: Int
        public var lineCount: Int
        public var body: [UInt8]

        public var lines: ClosedRange<Int> { firstLine...(firstLine + Swift.max(lineCount, 1) - 1) }

        /// Where the body's physical lines come from in the file: from `chunkLine` on, a line
        /// of the body is `fileLine - chunkLine` lines further down in the file (a new span
        /// starts only where blank lines were dropped).
        var spans: [LineSpan] = []
        /// Whether the chunker put a `LineId` column first, so that a column of the body is
        /// one to the right of the file's.
        var addedLineIdColumn = false
    }

    struct LineSpan: Sendable, Hashable {
        var chunkLine: Int
        var fileLine: Int
    }

    public let recordCount: Int
    public let linesPerChunk: Int
    public let maxChunkBytes: Int
    public let chunkCount: Int
    /// Whether a `LineId` column is added.
    public let numbersLines: Bool
    private let bytes: [UInt8]
    private let header: [UInt8]
    /// The header's first physical line in the file and how many lines it spans.
    private let headerLine: Int
    private let headerLineCount: Int
    private var position: Int
    /// The file's physical line at `position`, counted as `CSVReader` counts (the first is 1).
    private var positionLine: Int
    private var emitted = 0
    private var chunksEmitted = 0

    /// - Throws: `MALFORMED` without a header row; `TOO_LARGE`, naming the line, when one
    ///   record and the header do not fit in `maxChunkBytes`.
    public init(_ body: [UInt8], linesPerChunk: Int, maxChunkBytes: Int = .max) throws(DomainError) {
        guard linesPerChunk > 0 else { throw DomainError(.validation, "a chunk must hold at least one line") }
        bytes = body
        self.linesPerChunk = linesPerChunk
        self.maxChunkBytes = maxChunkBytes
        var start = body.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        let beforeHeader = start
        guard let headerRange = Self.nextRecord(in: body, from: &start) else {
            throw DomainError(.malformed, "the CSV has no header row")
        }
        headerLine = 1 + Self.lineBreaks(in: body, beforeHeader..<headerRange.lowerBound)
        headerLineCount = 1 + Self.lineBreaks(in: body, headerRange)
        positionLine = 1 + Self.lineBreaks(in: body, beforeHeader..<start)
        let headerBytes = Array(body[headerRange])
        let names = try CSVReader.read(headerBytes + [UInt8(ascii: "\n")]).header
        numbersLines = !names.contains { $0.trimmingSpaces.lowercased() == "lineid" }
        header = (numbersLines ? Array("LineId,".utf8) : []) + headerBytes + [UInt8(ascii: "\n")]
        position = start
        // The chunks are counted as `next` will cut them, so a line too large for any chunk
        // is refused before the first is sent.
        var count = 0
        var chunks = 0
        var inChunk = (lines: 0, bytes: 0)
        var scan = start
        while let record = Self.nextRecord(in: body, from: &scan) {
            count += 1
            let size = Self.size(ofRecord: record, number: count, numbered: numbersLines)
            guard header.count + size <= maxChunkBytes else {
                throw DomainError(.tooLarge, "line \(count) is \(record.count) bytes; with the header a command holds at most \(maxChunkBytes) bytes")
            }
            if inChunk.lines == 0 || inChunk.lines == linesPerChunk || inChunk.bytes + size > maxChunkBytes {
                chunks += 1
                inChunk = (0, header.count)
            }
            inChunk.lines += 1
            inChunk.bytes += size
        }
        recordCount = count
        chunkCount = chunks
    }

    /// A record's bytes in a chunk's body: its `LineId` when one is added, and its line break.
    private static func size(ofRecord record: Range<Int>, number: Int, numbered: Bool) -> Int {
        record.count + 1 + (numbered ? String(number).utf8.count + 1 : 0)
    }

    public mutating func next() -> Chunk? {
        var body = header
        let firstLine = emitted + 1
        var lineCount = 0
        var spans = [LineSpan(chunkLine: 1, fileLine: headerLine)]
        var chunkLine = 1 + headerLineCount
        var start = position
        while lineCount < linesPerChunk {
            var after = position
            guard let record = Self.nextRecord(in: bytes, from: &after),
                  lineCount == 0 || body.count + Self.size(ofRecord: record, number: emitted + 1, numbered: numbersLines) <= maxChunkBytes
            else { break }
            position = after
            emitted += 1
            lineCount += 1
            if numbersLines { body.append(contentsOf: "\(emitted),".utf8) }
            body.append(contentsOf: bytes[record])
            body.append(UInt8(ascii: "\n"))
            let fileLine = positionLine + Self.lineBreaks(in: bytes, start..<record.lowerBound)
            if let last = spans.last, fileLine - chunkLine != last.fileLine - last.chunkLine {
                spans.append(LineSpan(chunkLine: chunkLine, fileLine: fileLine))
            }
            chunkLine += 1 + Self.lineBreaks(in: bytes, record)
            positionLine += Self.lineBreaks(in: bytes, start..<position)
            start = position
        }
        guard lineCount > 0 else { return nil }
        chunksEmitted += 1
        return Chunk(number: chunksEmitted, firstLine: firstLine, lineCount: lineCount, body: body, spans: spans,
                     addedLineIdColumn: numbersLines)
    }

    /// Line breaks in `range` as `CSVReader` counts them: CR LF, LF and a lone CR each once.
    static func lineBreaks(in bytes: [UInt8], _ range: Range<Int>) -> Int {
        let lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
        var count = 0
        for index in range where bytes[index] == lf || (bytes[index] == cr && (index + 1 == bytes.count || bytes[index + 1] != lf)) {
            count += 1
        }
        return count
    }

    /// The next non-blank record at or after `index`, without its line break; `index` moves
    /// past the break. A quote opens and closes quoted text, so a doubled quote changes nothing
    /// and a break inside quotes belongs to the field.
    static func nextRecord(in bytes: [UInt8], from index: inout Int) -> Range<Int>? {
        let lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r"), quote = UInt8(ascii: "\"")
        while index < bytes.count, bytes[index] == lf || bytes[index] == cr { index += 1 }
        guard index < bytes.count else { return nil }
        let start = index
        var quoted = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte == quote {
                quoted.toggle()
            } else if !quoted, byte == lf || byte == cr {
                let end = index
                index += 1
                if byte == cr, index < bytes.count, bytes[index] == lf { index += 1 }
                return start..<end
            }
            index += 1
        }
        return start..<index
    }
}

extension CSVChunker.Chunk {
    /// The file's physical line that line `line` of this chunk's body came from.
    public func fileLine(_ line: Int) -> Int {
        guard let span = spans.last(where: { $0.chunkLine <= line }) else { return line }
        return line + span.fileLine - span.chunkLine
    }

    /// `message` naming the file's line (and column) where it begins with `line N` (then
    /// `, column C` or `: column C`) naming the body's, as `CSVReader` and the line decoders
    /// write their faults; any other message as it is.
    public func namingFileLines(_ message: String) -> String {
        guard let match = message.prefixMatch(of: /line (\d+)(?:(, |: )column (\d+))?(?=[:, ])/),
              let line = Int(match.1) else { return message }
        var named = "line \(fileLine(line))"
        if let separator = match.2, let column = match.3.flatMap({ Int($0) }) {
            named += "\(separator)column \(addedLineIdColumn ? column - 1 : column)"
        }
        return named + message[match.range.upperBound...]
    }
}
