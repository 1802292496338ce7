import PaymentsDomain

/// The one way every store runs a batch of commands in one transaction; a store only does
/// each step in its own SQL. A command whose key has a record is answered from it (replayed,
/// or a conflict) and changes nothing. Consecutive writes of one account and one moment that
/// merge (`PaymentWrite.merge(_:)`) read and plan once. Each group of commands reads what
/// its write asks, plans (a refusal comes before any write, so it needs no savepoint; a
/// refused merge runs its commands one by one), writes its changes and is answered. The new
/// idempotency records are written at the end, all at once.
///
/// A state machine: the store asks `nextStep()`, does the step and hands back what it found
/// (`fetched(_:)`) or the ids it assigned (`wrote(_:)`), until no step is left; then it
/// writes `newRecords` and returns `outcomes()`.
struct StoreEngine {
    enum Step {
        case read(DataRequest, account: String)
        case write(Changes, account: String)
    }

    struct RecordKey: Hashable {
        let account: String
        let key: String
    }

    typealias KnownRecord = (fingerprint: [UInt8], reply: StoredReply)

    /// Commands planned as one, and their write.
    private struct Group {
        var members: [Int]
        var write: any PaymentWrite
        var keys: Set<RecordKey>
    }

    private enum Phase {
        case idle
        case reading(Group)
        case planned(Group, WritePlan)
        case writing(Group, WritePlan)
    }

    let commands: [StoreCommand]
    private var records: [RecordKey: KnownRecord]
    private var answers: [StoreOutcome?]
    private var cursor = 0
    private var forming: Group?
    /// Commands of a refused merge, to run one by one before the cursor moves on.
    private var alone: [Int] = []
    private var phase = Phase.idle
    /// The commands answered by running (their indices in `commands`) and their replies: the
    /// records to write.
    private(set) var newRecords: (commands: [Int], replies: [StoredReply]) = ([], [])

    init(_ commands: [StoreCommand], records: [RecordKey: KnownRecord]) {
        self.commands = commands
        self.records = records
        answers = Array(repeating: nil, count: commands.count)
    }

    /// Every account's keys in the batch, for the store's one look-up of their records.
    static func keysByAccount(_ commands: [StoreCommand]) -> [String: Set<String>] {
        commands.reduce(into: [:]) { $0[$1.account, default: []].insert($1.idempotencyKey) }
    }

    /// Every command's answer, once no step is left; throws if the store stopped before.
    func outcomes() throws -> [StoreOutcome] {
        try answers.map { answer in
            guard let answer else { throw StoreError("the store stopped before every command was answered", kind: .permanent) }
            return answer
        }
    }

    mutating func nextStep() -> Step? {
        switch phase {
        case .reading, .writing:
            // The store skipped handing back a step's result: nothing more can be planned.
            return nil
        case .planned(let group, let plan):
            phase = .writing(group, plan)
            return .write(plan.changes, account: commands[group.members[0]].account)
        case .idle:
            break
        }
        if !alone.isEmpty {
            let index = alone.removeFirst()
            return start(Group(members: [index], write: commands[index].write, keys: []))
        }
        // Commands are read in place (`commands[i].field`): a copy of each costs a retain and
        // a release of every reference it holds, several times a command.
        while cursor < commands.count {
            let key = RecordKey(account: commands[cursor].account, key: commands[cursor].idempotencyKey)
            // A key repeated within the batch is answered from the first one's record.
            if let group = forming, group.keys.contains(key) { return startForming() }
            if let record = records[key] {
                answers[cursor] = record.fingerprint == commands[cursor].fingerprint ? .replayed(record.reply) : .conflict
                cursor += 1
                continue
            }
            // Taken out while it merges, so that its write is not shared and grows in place.
            guard var group = forming.take() else {
                forming = Group(members: [cursor], write: commands[cursor].write, keys: [key])
                cursor += 1
                continue
            }
            let first = group.members[0]
            guard commands[first].account == key.account, commands[first].epochSeconds == commands[cursor].epochSeconds,
                  group.write.merge(commands[cursor].write) else { return start(group) }
            group.members.append(cursor)
            group.keys.insert(key)
            forming = group
            cursor += 1
        }
        return forming == nil ? nil : startForming()
    }

    /// Plans the group being read with what the store found.
    mutating func fetched(_ data: FetchedData) throws {
        guard case .reading(let group) = phase else { throw outOfStep() }
        let first = commands[group.members[0]]
        let plan: WritePlan
        do throws(DomainError) {
            plan = try group.write.plan(with: data, context: WriteContext(now: first.now))
        } catch {
            phase = .idle
            if group.members.count > 1 {
                // Each command then gets its own answer, the refused one its refusal.
                alone = group.members + alone
            } else {
                try answer(group, [first.refusal(error)])
            }
            return
        }
        if plan.changes.isEmpty {
            phase = .idle
            try answer(group, plan.replies(InsertedIds()))
        } else {
            phase = .planned(group, plan)
        }
    }

    /// Answers the group whose changes the store wrote, with the ids it assigned.
    mutating func wrote(_ ids: InsertedIds) throws {
        guard case .writing(let group, let plan) = phase else { throw outOfStep() }
        phase = .idle
        try answer(group, plan.replies(ids))
    }

    private mutating func startForming() -> Step? {
        guard let group = forming else { return nil }
        forming = nil
        return start(group)
    }

    private mutating func start(_ group: Group) -> Step {
        phase = .reading(group)
        return .read(group.write.reads(), account: commands[group.members[0]].account)
    }

    private mutating func answer(_ group: Group, _ replies: [StoredReply]) throws {
        guard replies.count == group.members.count else {
            throw StoreError("a write answered \(replies.count) of its \(group.members.count) commands", kind: .permanent)
        }
        for (index, reply) in zip(group.members, replies) {
            records[RecordKey(account: commands[index].account, key: commands[index].idempotencyKey)] = (commands[index].fingerprint, reply)
            answers[index] = .applied(reply)
            newRecords.commands.append(index)
            newRecords.replies.append(reply)
        }
    }

    private func outOfStep() -> StoreError {
        StoreError("the store engine was handed a result it did not ask for", kind: .permanent)
    }
}
