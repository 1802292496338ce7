import Testing
@testable import WorkerRuntime

@Suite("Reply parts")
struct ReplyPartsTests {
    @Test("a CSV over the limit is cut between rows, never inside a quoted line break, each part with the header")
    func cutsBetweenRows() {
        let header = "LineId,Errors\n"
        let rows = (1...50).map { "\($0),\"line \($0)\nspans two lines, \"\"quoted\"\"\"\n" }
        let body = Array((header + rows.joined()).utf8)
        let parts = ReplyParts.split(csv: body, maxBytes: 200)
        #expect(parts.count > 1)
        #expect(parts.allSatisfy { $0.count <= 200 })
        #expect(parts.allSatisfy { String(decoding: $0, as: UTF8.self).hasPrefix(header) })
        let joined = parts.map { String(decoding: $0, as: UTF8.self).dropFirst(header.count) }.joined()
        #expect(joined == rows.joined(), "every row once, whole, in order")
    }

    @Test("a body within the limit, or one row too long to cut, stays one part")
    func staysWhole() {
        let small = Array("A,B\n1,2\n".utf8)
        #expect(ReplyParts.split(csv: small, maxBytes: 100).map(Array.init) == [small])
        let oneLongRow = Array(("A\n" + String(repeating: "x", count: 500) + "\n").utf8)
        #expect(ReplyParts.split(csv: oneLongRow, maxBytes: 100).map(Array.init) == [oneLongRow])
    }

    @Test("a row longer than the limit gets a part of its own; its neighbours are not held back")
    func longRowAlone() {
        let body = Array(("A\n1\n" + String(repeating: "x", count: 300) + "\n2\n").utf8)
        let parts = ReplyParts.split(csv: body, maxBytes: 100).map { String(decoding: $0, as: UTF8.self) }
        #expect(parts == ["A\n1\n", "A\n" + String(repeating: "x", count: 300) + "\n", "A\n2\n"])
    }
}
