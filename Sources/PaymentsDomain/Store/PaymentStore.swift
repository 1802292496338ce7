/// Where commands take effect. Every call is scoped to one account; a store never returns
/// or changes another account's rows.
public protocol PaymentStore: Sendable {
    /// Runs a batch of commands in one transaction, each with its idempotency record: a
    /// command whose key is known is replayed (same fingerprint) or refused (other
    /// fingerprint) and changes nothing. Outcomes are in the commands' order. Throws
    /// `StoreError` when the batch could not be committed; then nothing of it took effect.
    func execute(_ commands: [StoreCommand]) async throws -> [StoreOutcome]

    /// Looks `request` up in `account`, outside any write (a read-only command).
    func read(_ request: DataRequest, account: String) async throws -> FetchedData

    func idempotencyRecord(account: String, key: String) async throws -> IdempotencyRecord?

    /// Deletes idempotency records created before `epochSeconds`; returns how many went.
    func purgeIdempotencyRecords(createdBefore epochSeconds: Int64) async throws -> Int

    /// Creates an order with a given id if the account has no order of that ref (dev fixture).
    func provision(order: Order, account: String) async throws

    /// Answers when the store can take writes again: the outage probe, and readiness.
    func ping() async throws

    func close() async throws
}

/// One command as a store runs it: its write, and its idempotency record's key and fingerprint.
public struct StoreCommand: Sendable {
    public var account: String
    public var idempotencyKey: String
    /// SHA-256 of the command name and body.
    public var fingerprint: [UInt8]
    public var write: any PaymentWrite
    /// The time the command is handled at: creation and posting dates, record age.
    public var now: UTCDateTime
    public var epochSeconds: Int64
    /// How the reply recorded when the write refuses the command is written.
    public var errorFormat: ErrorReplyFormat

    public init(account: String, idempotencyKey: String, fingerprint: [UInt8], write: any PaymentWrite,
                now: UTCDateTime, epochSeconds: Int64, errorFormat: ErrorReplyFormat) {
        self.account = account
        self.idempotencyKey = idempotencyKey
        self.fingerprint = fingerprint
        self.write = write
        self.now = now
        self.epochSeconds = epochSeconds
        self.errorFormat = errorFormat
    }

    /// The reply recorded when the write refuses the command.
    public func refusal(_ error: DomainError) -> StoredReply {
        errorFormat.reply(for: error)
    }
}

extension PaymentStore {
    /// The rows a query selects, in its order.
    public func payments(account: String, matching query: PaymentQuery) async throws -> [Payment] {
        try await read(DataRequest(query: query), account: account).selected
    }
}

/// A reply as recorded for its idempotency key and published: its status, its body, and for
/// an `error` reply the error itself as data (its code and message), so that the `error-code`
/// header and the error event are made from fields, never read back out of the body.
public struct StoredReply: Sendable, Hashable {
    public var status: String
    public var contentType: String
    public var body: [UInt8]
    /// Set on an `error` reply.
    public var error: DomainError?

    public init(status: String, contentType: String, body: [UInt8], error: DomainError? = nil) {
        self.status = status
        self.contentType = contentType
        self.body = body
        self.error = error
    }
}

public enum StoreOutcome: Sendable, Hashable {
    case applied(StoredReply)
    case replayed(StoredReply)
    case conflict
}

public struct IdempotencyRecord: Sendable, Hashable {
    public var key: String
    public var fingerprint: [UInt8]
    public var reply: StoredReply
    public var createdAt: Int64

    public init(key: String, fingerprint: [UInt8], reply: StoredReply, createdAt: Int64) {
        self.key = key
        self.fingerprint = fingerprint
        self.reply = reply
        self.createdAt = createdAt
    }
}

/// A store that could not do its work; the message never holds credentials or bound values.
public struct StoreError: Error, Sendable, CustomStringConvertible {
    /// What the failure says about the store, which decides what the worker does next.
    public enum Kind: String, Sendable {
        /// The store is away (unreachable, restarting, no answer in time, disk full, read-only
        /// file): not the command's fault; the worker holds all work back until it answers.
        case unavailable
        /// This command clashed with a concurrent writer (serialization failure, deadlock):
        /// running it again resolves it, within the retry budget.
        case conflict
        /// Trying again cannot help.
        case permanent
    }

    public var message: String
    public var kind: Kind

    public init(_ message: String, kind: Kind) {
        self.message = message
        self.kind = kind
    }

    /// Worth trying again: the store may answer, or the clash may not recur.
    public var isTransient: Bool { kind != .permanent }

    public var description: String { "StoreError(\(kind)): \(message)" }
}
