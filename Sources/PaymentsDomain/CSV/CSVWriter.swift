/// Writes RFC 4180 CSV: fields holding a comma, quote or line break are quoted, quotes
/// doubled. Lines end with LF (see README: what naive clients split on).
public struct CSVWriter: Sendable {
    public private(set) var bytes: [UInt8] = []

    public init(header: [String]? = nil) {
        if let header { writeRecord(header) }
    }

    public mutating func writeRecord(_ fields: [String?]) {
        for (index, field) in fields.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let field else { continue }
            let utf8 = field.utf8
            let needsQuotes = utf8.contains {
                $0 == UInt8(ascii: ",") || $0 == UInt8(ascii: "\"") || $0 == UInt8(ascii: "\n") || $0 == UInt8(ascii: "\r")
            }
            guard needsQuotes else {
                bytes.append(contentsOf: utf8)
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            for byte in utf8 {
                if byte == UInt8(ascii: "\"") { bytes.append(byte) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "\n"))
    }

    public mutating func writeRecord(_ fields: [String]) {
        writeRecord(fields.map { Optional($0) })
    }

    public var text: String { String(decoding: bytes, as: UTF8.self) }
}
