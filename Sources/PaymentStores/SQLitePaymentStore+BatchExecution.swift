import GRDB
import PaymentsDomain

extension SQLitePaymentStore {
    /// One batch in one transaction. Idempotency records are looked up once for the batch;
    /// consecutive UpdatePayments commands of one account and one moment are planned together
    /// (single-line commands arrive by the thousand), which must answer and store exactly
    /// what they would one after the other; every other command runs on its own.
    struct BatchExecution {
        private let commands: [StoreCommand]
        private let db: Database
        private var records: [RecordKey: KnownRecord]
        private var answers: [StoreOutcome?]
        /// The UpdatePayments commands waiting to be planned together, by index, with their lines.
        private var pending: [(index: Int, lines: [PaymentLine])] = []
        private var pendingKeys: Set<RecordKey> = []

        init(_ commands: [StoreCommand], in db: Database) throws {
            self.commands = commands
            self.db = db
            records = try SQLitePaymentStore.fetchRecords(for: commands, in: db)
            answers = Array(repeating: nil, count: commands.count)
        }

        mutating func outcomes() throws -> [StoreOutcome] {
            for (index, command) in commands.enumerated() {
                let key = RecordKey(account: command.account, key: command.idempotencyKey)
                // A key repeated within the batch is answered from the first one's record.
                if pendingKeys.contains(key) { try flush() }
                if let record = records[key] {
                    answers[index] = record.fingerprint == command.fingerprint ? .replayed(record.reply) : .conflict
                    continue
                }
                if case .updatePayments(let lines) = command.operation, Self.canPlanTogether(lines) {
                    if let first = pending.first, !Self.canShareRun(commands[first.index], command) { try flush() }
                    pending.append((index, lines))
                    pendingKeys.insert(key)
                    continue
                }
                try flush()
                let reply = try SQLitePaymentStore.execute(command, in: db)
                records[key] = (command.fingerprint, reply)
                answers[index] = .applied(reply)
            }
            try flush()
            return answers.map { $0 ?? .conflict }
        }

        private mutating func flush() throws {
            guard !pending.isEmpty else { return }
            let replies = try SQLitePaymentStore.executeUpdatePayments(pending.map { (commands[$0.index], $0.lines) }, in: db)
            for (index, reply) in zip(pending.map(\.index), replies) {
                let command = commands[index]
                records[RecordKey(account: command.account, key: command.idempotencyKey)] = (command.fingerprint, reply)
                answers[index] = .applied(reply)
            }
            pending = []
            pendingKeys = []
        }

        /// A line naming a PaymentId may name a payment an earlier command of the run inserts,
        /// whose id exists only once written: such a command runs after the run, on its own.
        private static func canPlanTogether(_ lines: [PaymentLine]) -> Bool {
            !lines.contains { $0.changes.paymentId != nil }
        }

        private static func canShareRun(_ first: StoreCommand, _ next: StoreCommand) -> Bool {
            first.account == next.account && first.epochSeconds == next.epochSeconds
        }
    }
}
