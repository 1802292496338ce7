@testable import PaymentStores
import Testing

@Suite("PostgreSQL statistics schedule")
struct PostgresStatisticsScheduleTests {
    @Test("an ANALYZE is due at the first threshold, then each time the rows written double, never two at once")
    func doubling() {
        var schedule = PostgresStatisticsSchedule(firstAfter: 100)
        var due: [Bool] = []
        due.append(schedule.wrote(60))
        due.append(schedule.wrote(50))      // 110: the first
        due.append(schedule.wrote(100))     // 210, but the first is still running
        schedule.finished()
        due.append(schedule.wrote(0))       // 210 passed 200
        schedule.finished()
        due.append(schedule.wrote(189))     // 399: the next is at 400
        due.append(schedule.wrote(1))
        schedule.finished()
        due.append(schedule.wrote(5_000))   // past several thresholds: one run
        schedule.finished()
        due.append(schedule.wrote(1))       // the next threshold is past what was written
        #expect(due == [false, true, false, true, false, true, true, false])
        #expect(schedule.written == 5_401)
    }
}
