import ArgumentParser
import Foundation
import PaymentsDomain

/// Our byte-level RFC 4180 reader against CSV.swift on the same UpdatePayments text.
struct CSVBenchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "csv", abstract: "CSV reading: ours against CSV.swift.")

    @Option(help: "Lines per run.")
    var lines = 200_000

    @Option(help: "Runs of each reader; the best is reported.")
    var runs = 3

    func run() async throws {
        let text = Workload.csv(lines: lines, batch: 0)
        let bytes = Array(text.utf8)
        print("CSV: \(lines) lines, \(bytes.count / 1024) KiB")

        var ours: [Measurement] = []
        var oursFields: [[String]] = []
        for _ in 0..<runs {
            ours.append(try await measure("  ours (CSVReader)", units: lines, unit: "lines") {
                oursFields = try CSVReader.read(bytes, limits: CSVLimits(maxBytes: .max, maxRecords: .max)).records.map(\.fields)
            })
        }
        var library: [Measurement] = []
        var libraryFields: [[String]] = []
        for _ in 0..<runs {
            library.append(try await measure("  CSV.swift 2.5", units: lines, unit: "lines") {
                libraryFields = try CSVSwiftReader.rows(of: text)
            })
        }
        let best = (ours.map(\.perSecond).max() ?? 0, library.map(\.perSecond).max() ?? 0)
        print(String(format: "CSV result: ours %.0f lines/s, CSV.swift %.0f lines/s, ratio %.1fx; same fields: %@",
                     best.0, best.1, best.0 / max(best.1, 1), oursFields == libraryFields ? "yes" : "NO"))
    }
}
