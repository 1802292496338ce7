import GRDB
import PaymentsDomain

extension SQLitePaymentStore {
    /// One batch in one transaction, in the order `BatchSchedule` gives, with the batch's
    /// idempotency records looked up at once.
    static func outcomes(of commands: [StoreCommand], in db: Database) throws -> [StoreOutcome] {
        var schedule = BatchSchedule(commands, records: try fetchRecords(for: commands, in: db))
        while let step = schedule.nextStep() {
            switch step {
            case .single(let index):
                schedule.applied([try execute(commands[index], in: db)], to: [index])
            case .run(let members):
                let replies = try executeUpdatePayments(members.map { (commands[$0.index], $0.lines) }, in: db)
                schedule.applied(replies, to: members.map(\.index))
            }
        }
        return schedule.outcomes
    }
}
