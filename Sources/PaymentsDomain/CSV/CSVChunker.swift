/// Splits a large CSV import into bodies of at most `linesPerChunk` records, each under the
/// same header, so that a million-line file travels as commands the worker's limits accept.
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
    }

    public let recordCount: Int
    public let linesPerChunk: Int
    /// Whether a `LineId` column is added.
    public let numbersLines: Bool
    private let bytes: [UInt8]
    private let header: [UInt8]
    private var position: Int
    private var emitted = 0

    public init(_ body: [UInt8], linesPerChunk: Int) throws(DomainError) {
        guard linesPerChunk > 0 else { throw DomainError(.validation, "a chunk must hold at least one line") }
        bytes = body
        self.linesPerChunk = linesPerChunk
        var start = body.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        guard let headerRange = Self.nextRecord(in: body, from: &start) else {
            throw DomainError(.malformed, "the CSV has no header row")
        }
        let headerBytes = Array(body[headerRange])
        let names = try CSVReader.read(headerBytes + [UInt8(ascii: "\n")]).header
        numbersLines = !names.contains { $0.trimmingSpaces.lowercased() == "lineid" }
        header = (numbersLines ? Array("LineId,".utf8) : []) + headerBytes + [UInt8(ascii: "\n")]
        position = start
        var count = 0
        var scan = start
        while Self.nextRecord(in: body, from: &scan) != nil { count += 1 }
        recordCount = count
    }

    public var chunkCount: Int { (recordCount + linesPerChunk - 1) / linesPerChunk }

    public mutating func next() -> Chunk? {
        var body = header
        let firstLine = emitted + 1
        var lineCount = 0
        while lineCount < linesPerChunk, let record = Self.nextRecord(in: bytes, from: &position) {
            emitted += 1
            lineCount += 1
            if numbersLines { body.append(contentsOf: "\(emitted),".utf8) }
            body.append(contentsOf: bytes[record])
            body.append(UInt8(ascii: "\n"))
        }
        guard lineCount > 0 else { return nil }
        return Chunk(number: (firstLine - 1) / linesPerChunk + 1, firstLine: firstLine, lineCount: lineCount, body: body)
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
