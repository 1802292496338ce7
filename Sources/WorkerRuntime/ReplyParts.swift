/// A CSV reply too large for one Kafka message, cut into whole CSVs (docs/contract.md §4): each part
/// is the header row and complete rows, in order, at most `maxBytes` long unless one row
/// alone is longer (that part then fails to publish as too large, and is handled so).
enum ReplyParts {
    static func split(csv body: [UInt8], maxBytes: Int) -> [ArraySlice<UInt8>] {
        guard body.count > maxBytes else { return [body[...]] }
        var rowEnds: [Int] = []
        var quoted = false
        for index in body.indices {
            switch body[index] {
            case UInt8(ascii: "\""): quoted.toggle()
            case UInt8(ascii: "\n") where !quoted: rowEnds.append(index + 1)
            default: break
            }
        }
        if rowEnds.last != body.count { rowEnds.append(body.count) }
        guard let headerEnd = rowEnds.first, rowEnds.count > 2 else { return [body[...]] }
        let header = body[..<headerEnd]
        var parts: [ArraySlice<UInt8>] = []
        var partStart = headerEnd
        var previousEnd = headerEnd
        for rowEnd in rowEnds.dropFirst() {
            if rowEnd - partStart + header.count > maxBytes, previousEnd > partStart {
                parts.append(header + body[partStart..<previousEnd])
                partStart = previousEnd
            }
            previousEnd = rowEnd
        }
        parts.append(header + body[partStart..<previousEnd])
        return parts
    }
}
