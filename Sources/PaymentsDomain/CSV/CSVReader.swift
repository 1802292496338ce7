/// Limits on a CSV body; past them a command is `TOO_LARGE` or a line gets an error.
public struct CSVLimits: Sendable, Hashable {
    public var maxBytes: Int
    public var maxRecords: Int
    public var maxFieldBytes: Int

    public init(maxBytes: Int = 16 << 20, maxRecords: Int = 100_000, maxFieldBytes: Int = 4_096) {
        self.maxBytes = maxBytes
        self.maxRecords = maxRecords
        self.maxFieldBytes = maxFieldBytes
    }
}

/// One data record and the physical line it starts on (the header is line 1).
public struct CSVRecord: Sendable, Hashable {
    public var line: Int
    public var fields: [String]
    /// Set when a field broke a limit: the record stays, as a line error.
    public var problem: String?

    public init(line: Int, fields: [String], problem: String? = nil) {
        self.line = line
        self.fields = fields
        self.problem = problem
    }
}

public struct CSVDocument: Sendable, Hashable {
    public var header: [String]
    public var records: [CSVRecord]
}

/// RFC 4180 over UTF-8 bytes: a header row, optional BOM, CRLF or LF, quoted fields holding
/// commas, doubled quotes and line breaks. Blank lines are skipped. Faults name the line
/// and column (1-based field index).
public enum CSVReader {
    public static func read(_ body: [UInt8], limits: CSVLimits = CSVLimits()) throws(DomainError) -> CSVDocument {
        guard body.count <= limits.maxBytes else {
            throw DomainError(.tooLarge, "the CSV body is \(body.count) bytes; the limit is \(limits.maxBytes)")
        }
        // One pass over the whole body; only a body that fails it is checked field by field,
        // to say where the bad byte is.
        let validUTF8 = body.isValidUTF8
        let result: Result<CSVDocument, DomainError> = body.withUnsafeBufferPointer { buffer in
            do throws(DomainError) {
                var parser = Parser(bytes: buffer, limits: limits, knownValid: validUTF8)
                guard let header = try parser.nextRecord(expectedFields: 8) else {
                    throw DomainError(.malformed, "the CSV has no header row")
                }
                if let problem = header.problem { throw DomainError(.malformed, "header row: \(problem)") }
                var records: [CSVRecord] = []
                while let record = try parser.nextRecord(expectedFields: header.fields.count) {
                    guard records.count < limits.maxRecords else {
                        throw DomainError(.tooLarge, "the CSV has more than \(limits.maxRecords) lines; that is the limit")
                    }
                    records.append(record)
                }
                return .success(CSVDocument(header: header.fields, records: records))
            } catch {
                return .failure(error)
            }
        }
        return try result.get()
    }

    public static func read(_ text: String, limits: CSVLimits = CSVLimits()) throws(DomainError) -> CSVDocument {
        try read(Array(text.utf8), limits: limits)
    }

    private struct Parser {
        let bytes: UnsafeBufferPointer<UInt8>
        let limits: CSVLimits
        let knownValid: Bool
        var index: Int
        var line = 1

        init(bytes: UnsafeBufferPointer<UInt8>, limits: CSVLimits, knownValid: Bool) {
            self.bytes = bytes
            self.limits = limits
            self.knownValid = knownValid
            index = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        }

        static let quote = UInt8(ascii: "\"")
        static let comma = UInt8(ascii: ",")
        static let cr = UInt8(ascii: "\r")
        static let lf = UInt8(ascii: "\n")

        /// Consumes a line break at `index` if there is one.
        private mutating func skipLineBreak() -> Bool {
            if index < bytes.count, bytes[index] == Self.lf {
                index += 1
            } else if index < bytes.count, bytes[index] == Self.cr {
                index += 1
                if index < bytes.count, bytes[index] == Self.lf { index += 1 }
            } else {
                return false
            }
            line += 1
            return true
        }

        mutating func nextRecord(expectedFields: Int) throws(DomainError) -> CSVRecord? {
            while index < bytes.count, skipLineBreak() {}
            guard index < bytes.count else { return nil }
            let startLine = line
            var fields: [String] = []
            fields.reserveCapacity(expectedFields)
            var problem: String?
            while true {
                let column = fields.count + 1
                let field = try readField(column: column)
                if field.count > limits.maxFieldBytes, problem == nil {
                    problem = "column \(column) is \(field.count) bytes long; the limit is \(limits.maxFieldBytes)"
                }
                fields.append(try text(of: field, column: column))
                if index < bytes.count, bytes[index] == Self.comma {
                    index += 1
                    continue
                }
                if index == bytes.count || skipLineBreak() { break }
                throw DomainError(.malformed, "line \(line), column \(column): unexpected character after a closing quote")
            }
            return CSVRecord(line: startLine, fields: fields, problem: problem)
        }

        private func text(of field: Field, column: Int) throws(DomainError) -> String {
            switch field {
            case .slice(let range):
                let slice = UnsafeBufferPointer(rebasing: bytes[range])
                if knownValid { return String(decoding: slice, as: UTF8.self) }
                guard let text = String(validating: slice, as: UTF8.self) else { throw notUTF8(column) }
                return text
            case .unescaped(let copy):
                if knownValid { return String(decoding: copy, as: UTF8.self) }
                guard let text = String(validating: copy, as: UTF8.self) else { throw notUTF8(column) }
                return text
            }
        }

        private func notUTF8(_ column: Int) -> DomainError {
            DomainError(.malformed, "line \(line), column \(column): the text is not valid UTF-8")
        }

        /// A field's bytes: a range of the body, or a copy when doubled quotes were undone.
        enum Field {
            case slice(Range<Int>)
            case unescaped([UInt8])

            var count: Int {
                switch self {
                case .slice(let range): range.count
                case .unescaped(let copy): copy.count
                }
            }
        }

        private mutating func readField(column: Int) throws(DomainError) -> Field {
            guard index < bytes.count, bytes[index] == Self.quote else {
                let start = index
                while index < bytes.count {
                    let byte = bytes[index]
                    if byte == Self.comma || byte == Self.lf || byte == Self.cr { break }
                    if byte == Self.quote {
                        throw DomainError(.malformed, "line \(line), column \(column): a quote inside an unquoted field (quote the whole field and double the quote)")
                    }
                    index += 1
                }
                return .slice(start..<index)
            }
            let openingLine = line
            index += 1
            var start = index
            // Filled only once a doubled quote is met, and appended to in place: a field of
            // doubled quotes built a new array each time, quadratic (1 MiB of quotes took 8 s).
            var unescaped: [UInt8] = []
            var hasDoubledQuote = false
            while index < bytes.count {
                let byte = bytes[index]
                if byte == Self.quote {
                    if index + 1 < bytes.count, bytes[index + 1] == Self.quote {
                        // A doubled quote: copy what came before and one quote.
                        unescaped.append(contentsOf: bytes[start...index])
                        hasDoubledQuote = true
                        index += 2
                        start = index
                        continue
                    }
                    let field: Field
                    if hasDoubledQuote {
                        unescaped.append(contentsOf: bytes[start..<index])
                        field = .unescaped(unescaped)
                    } else {
                        field = .slice(start..<index)
                    }
                    index += 1
                    return field
                }
                if byte == Self.lf || (byte == Self.cr && (index + 1 == bytes.count || bytes[index + 1] != Self.lf)) {
                    line += 1
                }
                index += 1
            }
            throw DomainError(.malformed, "line \(openingLine), column \(column): a quoted field is never closed")
        }
    }
}
