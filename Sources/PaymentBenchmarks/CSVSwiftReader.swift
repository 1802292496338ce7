import CSV

/// CSV.swift, in a file of its own: its `CSVReader` would clash with the domain's.
enum CSVSwiftReader {
    static func rows(of text: String) throws -> [[String]] {
        let reader = try CSVReader(string: text, hasHeaderRow: true)
        var rows: [[String]] = []
        while let row = reader.next() { rows.append(row) }
        return rows
    }
}
