/// Writes RFC 4180 CSV: fields holding a comma, quote or line break are quoted, quotes
/// doubled. Lines end with LF (see README: what naive clients split on).
public struct CSVWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(header: [String]? = nil) {
        if let header { writeRecord(header) }
    }

    /// Goes on after `bytes`, CSV written before (a header row kept for reuse, say).
    public init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    /// Rows already written as CSV, as they are.
    public mutating func append(_ rows: ArraySlice<UInt8>) {
        bytes.append(contentsOf: rows)
        if let last = rows.last, last != UInt8(ascii: "\n") { bytes.append(UInt8(ascii: "\n")) }
    }

    public mutating func writeRecord(_ fields: [String?]) {
        for (index, field) in fields.enumerated() { write(field, first: index == 0) }
        endRecord()
    }

    /// One field of the record being written; `first` for the record's first.
    public mutating func write(_ field: String?, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        guard let field else { return }
        let utf8 = field.utf8
        let needsQuotes = utf8.contains {
            $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r")
        }
        guard needsQuotes else {
            bytes.append(contentsOf: utf8)
            return
        }
        bytes.append(UInt8(ascii: "\""))
        for byte in utf8 {
            if byte == UInt8(ascii: "\"") { bytes.append(byte) }
            bytes.append(byte)
        }
        bytes.append(UInt8(ascii: "\""))
    }

    /// A number field, written digit by digit rather than through a `String`.
    public mutating func write(_ number: Int64?, first: Bool = false) {
        if !first { bytes.append(UInt8(ascii: ",")) }
        guard let number else { return }
        if number < 0 { bytes.append(UInt8(ascii: "-")) }
        var magnitude = number.magnitude
        let start = bytes.count
        repeat {
            bytes.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
            magnitude /= 10
        } while magnitude > 0
        bytes[start...].reverse()
    }

    public mutating func endRecord() {
        bytes.append(UInt8(ascii: "\n"))
    }

    public mutating func writeRecord(_ fields: [String]) {
        writeRecord(fields.map { Optional($0) })
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }
}
