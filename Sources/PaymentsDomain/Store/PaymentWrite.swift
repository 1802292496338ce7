/// The logic of a command that changes the store, written by its plugin over the domain as
/// pure functions: what it reads, then what it changes and how it answers. The store engine
/// runs it inside a transaction, once per idempotency key, in every store alike.
public protocol PaymentWrite: Sendable {
    /// A measure of the work and memory it takes (CSV lines; 1 for a one-record command),
    /// which bounds how many commands share a transaction.
    var lineCount: Int { get }

    /// What the store looks up in the command's account before planning.
    func reads() -> DataRequest

    /// The changes and the reply, from what the store found. Throws to refuse the command as
    /// a whole: nothing is changed then, and the refusal is the recorded reply.
    func plan(with data: FetchedData, context: WriteContext) throws(DomainError) -> WritePlan

    /// Takes `next` into this write, so that the two read and plan once, when they can share
    /// a plan; false (changing nothing) when `next` must run on its own. The engine asks only
    /// for consecutive commands of one account and one moment (single-line imports arrive by
    /// the thousand); the merged plan answers each command it stands for, in order, exactly
    /// as they would have been answered one after the other. Mutating, so that a merge of
    /// hundreds of commands appends in place rather than copying what it holds each time.
    mutating func merge(_ next: any PaymentWrite) -> Bool
}

extension PaymentWrite {
    public var lineCount: Int { 1 }

    public mutating func merge(_ next: any PaymentWrite) -> Bool { false }
}

/// What a write knows of the moment it runs at.
public struct WriteContext: Sendable {
    /// The time the command is handled at: creation and posting dates.
    public var now: UTCDateTime

    public init(now: UTCDateTime) {
        self.now = now
    }
}

/// What a write changes and how it answers once the changes are stored.
public struct WritePlan: Sendable {
    public var changes: Changes
    /// One reply for each command the write stands for, given the ids the store assigned.
    public var replies: @Sendable (InsertedIds) -> [StoredReply]

    public init(changes: Changes, replies: @escaping @Sendable (InsertedIds) -> [StoredReply]) {
        self.changes = changes
        self.replies = replies
    }

    /// The plan of a write that answers one command.
    public init(changes: Changes, reply: @escaping @Sendable (InsertedIds) -> StoredReply) {
        self.init(changes: changes) { ids in [reply(ids)] }
    }
}

/// The logic of a command that only reads (GetPayments): never recorded, never part of a
/// write transaction, yet it sees every write before it in its partition.
public protocol PaymentRead: Sendable {
    /// What the store looks up in the command's account.
    func reads() -> DataRequest

    func reply(with data: FetchedData) -> StoredReply
}
