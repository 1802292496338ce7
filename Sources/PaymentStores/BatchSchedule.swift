import PaymentsDomain

/// The order in which a store answers a batch, the same for every store: a command whose key
/// has a record is answered from it (replayed, or a conflict); consecutive UpdatePayments
/// commands of one account and one moment run as one planned run of lines (single-line
/// commands arrive by the thousand); every other command runs on its own. Runs must answer
/// and store exactly what their commands would one after the other.
///
/// A state machine: `nextStep()` says what to run, the store runs it and hands the replies
/// to `applied(_:to:)`, until there is nothing left; then `outcomes` holds every answer.
struct BatchSchedule {
    struct RecordKey: Hashable {
        let account: String
        let key: String
    }

    typealias KnownRecord = (fingerprint: [UInt8], reply: StoredReply)

    enum Step {
        /// Run the command at this index on its own.
        case single(Int)
        /// Run these UpdatePayments commands (index and lines) as one run of lines.
        case run([(index: Int, lines: [PaymentLine])])
    }

    let commands: [StoreCommand]
    private var records: [RecordKey: KnownRecord]
    private var answers: [StoreOutcome?]
    private var cursor = 0
    private var pending: [(index: Int, lines: [PaymentLine])] = []
    private var pendingKeys: Set<RecordKey> = []

    init(_ commands: [StoreCommand], records: [RecordKey: KnownRecord]) {
        self.commands = commands
        self.records = records
        answers = Array(repeating: nil, count: commands.count)
    }

    /// Every account's keys in the batch, for the store's one lookup of their records.
    static func keysByAccount(_ commands: [StoreCommand]) -> [String: Set<String>] {
        commands.reduce(into: [:]) { $0[$1.account, default: []].insert($1.idempotencyKey) }
    }

    var outcomes: [StoreOutcome] { answers.map { $0 ?? .conflict } }

    mutating func nextStep() -> Step? {
        while cursor < commands.count {
            let command = commands[cursor]
            let key = RecordKey(account: command.account, key: command.idempotencyKey)
            // A key repeated within the batch is answered from the first one's record.
            if pendingKeys.contains(key) { return takeRun() }
            if let record = records[key] {
                answers[cursor] = record.fingerprint == command.fingerprint ? .replayed(record.reply) : .conflict
                cursor += 1
                continue
            }
            if case .updatePayments(let lines) = command.operation, Self.canPlanTogether(lines) {
                if let first = pending.first, !Self.canShareRun(commands[first.index], command) { return takeRun() }
                pending.append((cursor, lines))
                pendingKeys.insert(key)
                cursor += 1
                continue
            }
            if !pending.isEmpty { return takeRun() }
            cursor += 1
            return .single(cursor - 1)
        }
        return pending.isEmpty ? nil : takeRun()
    }

    /// The replies of the commands at `indices`, in that order.
    mutating func applied(_ replies: [StoredReply], to indices: [Int]) {
        for (index, reply) in zip(indices, replies) {
            let command = commands[index]
            records[RecordKey(account: command.account, key: command.idempotencyKey)] = (command.fingerprint, reply)
            answers[index] = .applied(reply)
        }
    }

    private mutating func takeRun() -> Step {
        defer {
            pending = []
            pendingKeys = []
        }
        return .run(pending)
    }

    /// A line naming a PaymentId may name a payment an earlier command of the run inserts,
    /// whose id exists only once written: such a command runs on its own.
    private static func canPlanTogether(_ lines: [PaymentLine]) -> Bool {
        !lines.contains { $0.changes.paymentId != nil }
    }

    private static func canShareRun(_ first: StoreCommand, _ next: StoreCommand) -> Bool {
        first.account == next.account && first.epochSeconds == next.epochSeconds
    }

    /// Splits the line results of a run into each command's share, in order; throws unless
    /// there is exactly one a line.
    static func split<Result>(_ results: [Result], among run: [(command: StoreCommand, lines: [PaymentLine])]) throws -> [[Result]] {
        guard results.count == run.reduce(0, { $0 + $1.lines.count }) else {
            throw StoreError("a result a line was expected", kind: .permanent)
        }
        var start = 0
        return run.map { member in
            defer { start += member.lines.count }
            return Array(results[start..<start + member.lines.count])
        }
    }
}
