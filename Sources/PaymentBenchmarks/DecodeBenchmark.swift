import ArgumentParser
import CancelPaymentPlugin
import Foundation
import PaymentsDomain

/// The worst input shapes found for each reader, at the worker's largest body (16 MiB by
/// default): seconds per MiB, so that decoding is seen to be linear whatever the shape.
struct DecodeBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "decode", abstract: "Readers on their worst input shapes: time per MiB.")

    @Option(help: "MiB of input per shape.")
    var mebibytes = 16

    @Option(help: "Runs of each shape; the median is reported.")
    var runs = 3

    func run() async throws {
        let size = mebibytes << 20
        // The worker's own limits: 16 MiB, 100 000 lines, 4 096 bytes a field.
        let csvLimits = CSVLimits(maxBytes: max(size, CSVLimits().maxBytes))
        let shapes: [(name: String, input: [UInt8], read: @Sendable ([UInt8]) -> Void)] = [
            ("CSV, quote characters only", Array(repeating: UInt8(ascii: "\""), count: size),
             { _ = try? CSVReader.read($0, limits: csvLimits) }),
            ("CSV, one quoted field of line breaks and doubled quotes", Array(("A\n\"" + String(repeating: "\"\"\n", count: size / 3)).utf8.prefix(size - 1)) + [UInt8(ascii: "\"")],
             { _ = try? CSVReader.read($0, limits: csvLimits) }),
            ("CSV, 100 000 UpdatePayments lines (a bulk import)", Array(Workload.csv(lines: 100_000, batch: 0).utf8),
             { _ = try? CSVReader.read($0, limits: csvLimits) }),
            ("CSV, commas only (one line of empty fields)", Array(("A\n" + String(repeating: ",", count: size - 3)).utf8),
             { _ = try? CSVReader.read($0, limits: csvLimits) }),
            ("query, a where string literal", Array(("where=PaymentId%3D'" + String(repeating: "x", count: size - 30) + "'").utf8),
             { _ = try? PaymentQuery.parse(urlQuery: String(decoding: $0, as: UTF8.self)) }),
            ("query, where brackets nested", Array(("where=" + String(repeating: "(", count: size - 6)).utf8),
             { _ = try? PaymentQuery.parse(urlQuery: String(decoding: $0, as: UTF8.self)) }),
            ("query, percent escapes", Array(("where=" + String(repeating: "%25", count: (size - 6) / 3)).utf8),
             { _ = try? PaymentQuery.parse(urlQuery: String(decoding: $0, as: UTF8.self)) }),
            ("JSON, one long string", Array(("{\"notes\":\"" + String(repeating: "\\u00e9", count: (size - 12) / 6) + "\"}").utf8),
             { _ = try? JSONValue.parse($0) }),
            ("JSON, brackets nested", Array(repeating: UInt8(ascii: "["), count: size), { _ = try? JSONValue.parse($0) }),
            ("JSON, many keys", Array(("{" + (0..<(size / 16)).map { "\"k\($0)\":1" }.joined(separator: ",") + "}").utf8),
             { _ = try? JSONValue.parse($0) }),
        ]
        print("decode: worst shapes, \(mebibytes) MiB each unless said, median of \(runs) runs")
        for shape in shapes {
            var seconds: [Double] = []
            for _ in 0..<runs {
                let clock = ContinuousClock()
                let input = shape.input
                seconds.append(clock.measure { shape.read(input) }.seconds)
            }
            let mebibytesRead = Double(shape.input.count) / Double(1 << 20)
            let middle = median(seconds)
            print(String(format: "  %-58@ %6.1f MiB  %7.3f s  %7.4f s/MiB", shape.name as NSString, mebibytesRead, middle, middle / mebibytesRead))
        }
    }
}
