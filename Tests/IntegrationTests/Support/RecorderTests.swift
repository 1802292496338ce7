import Synchronization
import Testing

@Suite("Recorder")
struct RecorderTests {
    @Test("waiting for one item among many checks each item once, not everything on every append")
    func firstChecksEachItemOnce() async throws {
        let recorder = Recorder<Int>()
        let checks = Atomic<Int>(0)
        for value in 0..<1_000 { recorder.append(value) }
        async let found = recorder.first("the value 1 999", timeout: .seconds(30)) { value in
            checks.add(1, ordering: .relaxed)
            return value == 1_999
        }
        // Appended while the wait may or may not be registered yet: each item is checked at
        // most once before the match and once in picking it out. Re-checking everything on
        // every append would take about a million checks here.
        for value in 1_000..<2_000 { recorder.append(value) }
        #expect(try await found == 1_999)
        #expect(checks.load(ordering: .relaxed) <= 3 * 2_000, "checks: \(checks.load(ordering: .relaxed))")
    }
}
