import PaymentsDomain
import PropertyBased
import Testing
import UpdatePaymentsPlugin

@Suite("CSV")
struct CSVTests {
    @Test("the seed's insert request reads as one record under its header")
    func seed() throws {
        let document = try CSVReader.read("""
            OrderRef,PaymentImportedRef,Active,Method,Direction,Amount,Date,TransactionAuthorized,TransactionRef
            Ref123,Ref456,1,Direct Credit,1,123.50,2013-09-16 1:00:00,1,ABC123456789
            """)
        #expect(document.header.count == 9)
        #expect(document.records == [CSVRecord(line: 2, fields: [
            "Ref123", "Ref456", "1", "Direct Credit", "1", "123.50", "2013-09-16 1:00:00", "1", "ABC123456789"])])
    }

    @Test("BOM, CRLF, quoted commas, doubled quotes and line breaks, blank lines")
    func rfc4180() throws {
        let text = "\u{FEFF}A,B\r\n\"x, y\",\"say \"\"hi\"\"\"\r\n\r\n\"two\nlines\",\r\nlast,\"\"\n"
        let document = try CSVReader.read(text)
        #expect(document.header == ["A", "B"])
        #expect(document.records.map(\.fields) == [["x, y", "say \"hi\""], ["two\nlines", ""], ["last", ""]])
        #expect(document.records.map(\.line) == [2, 4, 6])
    }

    @Test("structural faults name line and column", arguments: [
        ("A,B\n1,\"open\n", "line 2, column 2: a quoted field is never closed"),
        ("A,B\n1,\"x\"y\n", "line 2, column 2: unexpected character after a closing quote"),
        ("A,B\n1,x\"y\n", "line 2, column 2: a quote inside an unquoted field"),
        ("", "the CSV has no header row"),
    ])
    func faults(text: String, message: String) {
        let error = #expect(throws: DomainError.self) { try CSVReader.read(text) }
        #expect(error?.code == .malformed)
        #expect(error?.message.hasPrefix(message) == true, "\(error?.message ?? "")")
    }

    @Test("text that is not UTF-8 is malformed")
    func notUTF8() {
        let error = #expect(throws: DomainError.self) { try CSVReader.read(Array("A\n".utf8) + [0xFF, 0xFE]) }
        #expect(error?.message == "line 2, column 1: the text is not valid UTF-8")
    }

    @Test("limits: body size and line count refuse the command, field length the line")
    func limits() throws {
        let limits = CSVLimits(maxBytes: 100, maxRecords: 2, maxFieldBytes: 5)
        #expect(throws: DomainError(.tooLarge, "the CSV body is 101 bytes; the limit is 100")) {
            try CSVReader.read(Array(repeating: UInt8(ascii: "a"), count: 101), limits: limits)
        }
        #expect((try? CSVReader.read("A\n1\n2\n3\n", limits: limits)) == nil)
        let document = try CSVReader.read("A\n123456\n", limits: limits)
        #expect(document.records[0].problem == "column 1 is 6 bytes long; the limit is 5")
    }

    @Test("written CSV quotes what needs it and reads back the same")
    func writer() throws {
        var writer = CSVWriter(header: ["LineId", "Errors"])
        writer.writeRecord(["1", "a, \"b\"\nc"])
        writer.writeRecord(["2", nil])
        #expect(writer.text == "LineId,Errors\n1,\"a, \"\"b\"\"\nc\"\n2,\n")
        #expect(try CSVReader.read(writer.bytes).records.map(\.fields) == [["1", "a, \"b\"\nc"], ["2", ""]])
    }

    @Test("UpdatePayments reply rows written field by field are the bytes of their csvFields rows")
    func paymentResultRows() async {
        let pool: [Character] = ["a", "7", " ", ",", "\"", "\n", "é"]
        let text = Gen.int(in: 0...(pool.count - 1)).map { pool[$0] }.string(of: 0...6)
        let number = Gen.int(in: -3...3).map { $0 == 0 ? nil : Int64($0) * 987_654_321 }
        let result = zip(text, number, text, number, text).map { lineId, paymentId, ref, orderId, errors in
            PaymentLineResult(lineId: lineId, paymentId: paymentId, importedRef: ref.isEmpty ? nil : ref, orderId: orderId,
                              orderRef: "Ref123", errors: errors)
        }
        await propertyCheck(count: 200, input: result.array(of: 0...8)) { results in
            var expected = CSVWriter(header: PaymentLineResult.header)
            for result in results { expected.writeRecord(result.csvFields) }
            #expect(PaymentLineResult.csv(results) == expected.bytes)
        }
        var zero = CSVWriter()
        zero.write(0 as Int64, first: true)
        zero.write(Int64.min)
        zero.endRecord()
        #expect(zero.text == "0,-9223372036854775808\n")
    }

    @Test("any table survives a write and a read")
    func roundTrip() async {
        // Mostly plain text, with every character that needs quoting mixed in.
        let pool: [Character] = ["a", "b", "Z", "7", " ", ",", "\"", "\n", "\r\n", "\r", "é", "'"]
        let cell = Gen.int(in: 0...(pool.count - 1)).map { pool[$0] }.string(of: 0...8)
        let rows = cell.array(of: 3).array(of: 1...12)
        await propertyCheck(count: 300, input: rows) { rows in
            var writer = CSVWriter(header: ["A", "B", "C"])
            for row in rows { writer.writeRecord(row) }
            let document = try? CSVReader.read(writer.bytes)
            // A row of three empty cells is written as ",," and still reads back.
            #expect(document?.records.map(\.fields) == rows)
        }
    }

    @Test("a large import is cut into chunks under one header, numbered as one file")
    func chunks() throws {
        let text = "\u{FEFF}OrderRef,Comments\r\nR1,\"two\nlines\"\r\n\r\nR2,\"a, \"\"b\"\"\"\nR3,x\nR4,y\nR5,z"
        var chunker = try CSVChunker(Array(text.utf8), linesPerChunk: 2)
        #expect(chunker.recordCount == 5 && chunker.chunkCount == 3 && chunker.numbersLines)
        let chunks = Array(chunker)
        #expect(chunks.map(\.number) == [1, 2, 3])
        #expect(chunks.map(\.lines) == [1...2, 3...4, 5...5])
        let documents = try chunks.map { try CSVReader.read($0.body) }
        #expect(documents.allSatisfy { $0.header == ["LineId", "OrderRef", "Comments"] })
        #expect(documents.flatMap { $0.records.map(\.fields) } == [
            ["1", "R1", "two\nlines"], ["2", "R2", "a, \"b\""], ["3", "R3", "x"], ["4", "R4", "y"], ["5", "R5", "z"]])
        _ = chunker.next()
    }

    @Test("a file with its own LineId keeps it; an empty or headless file is refused")
    func chunksKeepLineIds() throws {
        let chunker = try CSVChunker(Array("lineid,OrderRef\nA,R1\nB,R2\n".utf8), linesPerChunk: 1)
        #expect(!chunker.numbersLines)
        #expect(chunker.map { String(decoding: $0.body, as: UTF8.self) } == ["lineid,OrderRef\nA,R1\n", "lineid,OrderRef\nB,R2\n"])
        #expect(throws: DomainError(.malformed, "the CSV has no header row")) { try CSVChunker(Array("\n\r\n".utf8), linesPerChunk: 5) }
        #expect(try CSVChunker(Array("A\n".utf8), linesPerChunk: 5).recordCount == 0)
    }

    @Test("any table read in chunks reads as the whole")
    func chunkedRoundTrip() async {
        let pool: [Character] = ["a", "7", " ", ",", "\"", "\n", "\r\n", "\r", "é"]
        let cell = Gen.int(in: 0...(pool.count - 1)).map { pool[$0] }.string(of: 1...6)
        await propertyCheck(count: 200, input: cell.array(of: 2).array(of: 1...20), Gen.int(in: 1...7)) { rows, size in
            var writer = CSVWriter(header: ["A", "B"])
            for row in rows { writer.writeRecord(row) }
            guard let whole = try? CSVReader.read(writer.bytes), let chunker = try? CSVChunker(writer.bytes, linesPerChunk: size) else {
                Issue.record("the written table did not read")
                return
            }
            let pieces = chunker.compactMap { try? CSVReader.read($0.body) }
            #expect(pieces.count == chunker.chunkCount)
            #expect(pieces.flatMap { $0.records.map { Array($0.fields.dropFirst()) } } == whole.records.map(\.fields))
            #expect(pieces.flatMap { $0.records.map { $0.fields[0] } } == whole.records.indices.map { String($0 + 1) })
        }
    }
    @Test("any table cut by bytes reads as the whole, each chunk within the bound, counted as cut")
    func chunkedByBytes() async {
        let pool: [Character] = ["a", "7", " ", ",", "\"", "\n", "é"]
        let cell = Gen.int(in: 0...(pool.count - 1)).map { pool[$0] }.string(of: 1...12)
        await propertyCheck(count: 200, input: cell.array(of: 2).array(of: 1...30), Gen.int(in: 70...300)) { rows, maxBytes in
            var writer = CSVWriter(header: ["A", "B"])
            for row in rows { writer.writeRecord(row) }
            guard let whole = try? CSVReader.read(writer.bytes) else {
                Issue.record("the written table did not read")
                return
            }
            // Every row of two 12-character cells (quoted, quotes doubled) fits in 70 bytes with the header.
            guard let chunker = try? CSVChunker(writer.bytes, linesPerChunk: 1_000, maxChunkBytes: maxBytes) else {
                Issue.record("a row that fits was refused")
                return
            }
            let chunks = Array(chunker)
            #expect(chunks.count == chunker.chunkCount)
            #expect(chunks.allSatisfy { $0.body.count <= maxBytes })
            #expect(chunks.map(\.number) == Array(1..<(chunks.count + 1)))
            let pieces = chunks.compactMap { try? CSVReader.read($0.body) }
            #expect(pieces.flatMap { $0.records.map { Array($0.fields.dropFirst()) } } == whole.records.map(\.fields))
        }
    }

    @Test("a row that cannot fit in a chunk with the header is TOO_LARGE, naming its line")
    func rowLargerThanAChunk() {
        let body = Array("A,B\nx,1\n\(String(repeating: "y", count: 100)),2\n".utf8)
        #expect(throws: DomainError(.tooLarge, "line 2 is 102 bytes; with the header a command holds at most 64 bytes")) {
            try CSVChunker(body, linesPerChunk: 10, maxChunkBytes: 64)
        }
    }

    @Test("a line a chunk's fault names is the file's line, past dropped blank lines and quoted line breaks")
    func chunkLinesNameFileLines() async {
        let pool: [Character] = ["a", "7", ",", "\"", "\n", "\r\n", "\r"]
        let cell = Gen.int(in: 0...(pool.count - 1)).map { pool[$0] }.string(of: 1...4)
        let blanks = ["", "\n", "\r\n", "\r", "\n\n"]
        let row = zip(Gen.int(in: 0...(blanks.count - 1)), cell.array(of: 2))
        await propertyCheck(count: 200, input: row.array(of: 1...20), Gen.int(in: 1...7)) { rows, size in
            var bytes = Array("\r\nA,B\n".utf8)
            for (blank, fields) in rows {
                bytes += Array(blanks[blank].utf8)
                var writer = CSVWriter()
                writer.writeRecord(fields)
                bytes += writer.bytes
            }
            guard let whole = try? CSVReader.read(bytes), let chunker = try? CSVChunker(bytes, linesPerChunk: size) else {
                Issue.record("the written table did not read")
                return
            }
            for chunk in chunker {
                guard let piece = try? CSVReader.read(chunk.body) else {
                    Issue.record("chunk \(chunk.number) did not read")
                    continue
                }
                #expect(chunk.fileLine(1) == 2, "the header")
                for record in piece.records {
                    guard let index = Int(record.fields[0]), whole.records.indices.contains(index - 1) else {
                        Issue.record("line id \(record.fields[0])")
                        continue
                    }
                    #expect(chunk.fileLine(record.line) == whole.records[index - 1].line)
                }
            }
        }
    }

    @Test("a fault that names a chunk's line is reworded to name the file's line")
    func faultsNameFileLines() throws {
        let chunks = Array(try CSVChunker(Array("A,B\nx,1\n\n\ny,2\n".utf8), linesPerChunk: 1))
        let second = try #require(chunks.last)
        #expect(String(decoding: second.body, as: UTF8.self) == "LineId,A,B\n2,y,2\n")
        #expect(second.namingFileLines("line 2: Amount 'y' is not a number") == "line 5: Amount 'y' is not a number")
        // The chunk's column 3 is the file's 2: the chunker put LineId first.
        #expect(second.namingFileLines("line 2, column 3: a quoted field is never closed") == "line 5, column 2: a quoted field is never closed")
        #expect(second.namingFileLines("line 2: column 3 is 300 bytes long; the limit is 255") == "line 5: column 2 is 300 bytes long; the limit is 255")
        #expect(second.namingFileLines("line 1, column 9: unexpected character after a closing quote") == "line 1, column 8: unexpected character after a closing quote")
        #expect(second.namingFileLines("the CSV has more than 10 lines; that is the limit") == "the CSV has more than 10 lines; that is the limit")
        #expect(second.namingFileLines("line 2x") == "line 2x")

        let numbered = try #require(Array(try CSVChunker(Array("LineId,A\n7,x\n\n8,y\n".utf8), linesPerChunk: 1)).last)
        #expect(numbered.namingFileLines("line 2, column 2: a quote inside an unquoted field") == "line 4, column 2: a quote inside an unquoted field")
    }
}
